"""The built wheel installs into a fresh venv and works there: `kdash`, and `kubectl kdash` as a plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`make dist`, then the wheel (and its dependencies, from the index) into a new venv: its bin/."""
    base = tmp_path_factory.mktemp("install")
    dist = base / "dist"
    built = subprocess.run(["make", "-s", "-C", str(ROOT), "dist", f"DIST={dist}"],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = list(dist.glob("kdash-*.whl"))
    assert len(wheels) == 1 and list(dist.glob("kdash-*.tar.gz")), sorted(p.name for p in dist.iterdir())
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheels[0])],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    return venv / "bin"


def _run(argv: list[str], path: str) -> subprocess.CompletedProcess:
    # Only the venv's bin and kubectl's directory: nothing of the checkout can stand in.
    env = {**os.environ, "PATH": path}
    env.pop("PYTHONPATH", None)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd="/")


def test_wheel_installs_and_runs(installed, cluster, kubectl, namespace):
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    version = _run(["kdash", "--version"], str(installed))
    assert version.returncode == 0, version.stderr
    from kdash import __version__

    assert version.stdout.strip() == f"kdash {__version__} (commit {commit})"
    kubectl("create", "deployment", "packaged", "--image=nginx:1.14.2", "-n", namespace)
    tree = _run(["kdash", "--kubeconfig", cluster.kubeconfig, "tree", "--once", "-n", namespace], str(installed))
    assert tree.returncode == 0, tree.stderr
    assert "packaged" in tree.stdout and "Traceback" not in tree.stderr
    # The bundled themes are package data: the installed copy must find them.
    themes = _run([str(installed / "python"), "-c",
                   "from kdash.config import load_themes; t, w = load_themes(); print(sorted(t), w)"],
                  str(installed))
    assert "kdash-dark" in themes.stdout, themes.stdout + themes.stderr


def test_kubectl_runs_kdash_as_a_plugin(installed, cluster, kubectl, namespace):
    kubectl_dir = str(Path(cluster.kubectl_path).parent)  # the 1.20 kubectl built with the control plane
    path = f"{installed}:{kubectl_dir}:/usr/bin:/bin"
    assert (installed / "kubectl_complete-kdash").exists()  # kubectl 1.26+ completes the plugin with it
    listed = _run(["kubectl", "plugin", "list"], path)
    assert str(installed / "kubectl-kdash") in listed.stdout, listed.stdout + listed.stderr
    kubectl("create", "deployment", "plugged", "--image=nginx:1.14.2", "-n", namespace)
    # kubectl hands every argument after the plugin's name to it: the same flags as kdash.
    tree = _run(["kubectl", "kdash", "--kubeconfig", cluster.kubeconfig, "-n", namespace, "tree", "--once"], path)
    assert tree.returncode == 0, tree.stderr
    assert "plugged" in tree.stdout and f"namespace {namespace}" in tree.stdout
    usage = _run(["kubectl", "kdash", "--help"], path)
    assert usage.stdout.startswith("usage: kubectl kdash"), usage.stdout
