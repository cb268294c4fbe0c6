"""`kdash completion bash|zsh` scripts are valid and complete contexts; `kdash keys` shows the keymap."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdash.actions.registry import ACTIONS

BIN = Path(sys.executable).parent


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "kdash"), *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})


def _kubeconfig(path: Path) -> Path:
    contexts = ("alpha", "beta-prod", "beta-stage")
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "alpha",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
    }))
    return path


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script_is_valid_shell(shell):
    result = _run("completion", shell)
    assert result.returncode == 0, result.stderr
    assert "kubectl-kdash" in result.stdout and "_ARGCOMPLETE" in result.stdout
    checker = shutil.which(shell)
    if checker is None:
        pytest.skip(f"{shell} is not installed")
    check = subprocess.run([checker, "-n"], input=result.stdout, capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def _complete(tmp_path: Path, line: str, program: str = "kdash", kubeconfig: Path | None = None) -> list[str]:
    """What bash's TAB offers at the end of `line`, through the script `kdash completion bash` prints."""
    script = tmp_path / "kdash.bash"
    script.write_text(_run("completion", "bash").stdout)
    words = line.split(" ")
    driver = (f'source {script}\n'
              f'COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({" ".join(repr(w) for w in words)})\n'
              f'COMP_CWORD={len(words) - 1}; COMP_TYPE=9\n'
              f'_python_argcomplete {program}\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    done = subprocess.run(["bash", "-c", driver], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return sorted(word.strip() for word in done.stdout.splitlines() if word.strip())


def test_bash_completes_contexts_from_the_kubeconfig(tmp_path):
    config = _kubeconfig(tmp_path / "config")
    assert _complete(tmp_path, "kdash --context ", kubeconfig=config) == ["alpha", "beta-prod", "beta-stage"]
    assert _complete(tmp_path, "kdash --context beta-p", kubeconfig=config) == ["beta-prod"]
    # The kubeconfig named on the line wins over $KUBECONFIG, as for kubectl.
    other = tmp_path / "other"
    other.write_text(config.read_text().replace("alpha", "gamma"))
    assert "gamma" in _complete(tmp_path, f"kdash --kubeconfig {other} --context ", kubeconfig=config)
    assert _complete(tmp_path, "kubectl-kdash --context al", "kubectl-kdash", kubeconfig=config) == ["alpha"]


def test_bash_completes_flags_and_subcommands(tmp_path):
    assert {"--context", "--namespace", "--readonly"} <= set(_complete(tmp_path, "kdash --"))
    assert {"tree", "keys", "completion"} <= set(_complete(tmp_path, "kdash "))
    assert set(_complete(tmp_path, "kdash tree -o ")) == {"json", "yaml", "wide"}


def test_keys_lists_every_binding_id_with_the_settings_keymap(tmp_path):
    settings = tmp_path / "kdash" / "settings.yaml"
    settings.parent.mkdir()
    # One remap that is accepted, one refused (q already quits), one unknown id.
    settings.write_text("keymap:\n  yaml: Y\n  toggle_details: q\n  nosuch: x\n")
    result = _run("keys", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert set(rows) == {a.id for a in ACTIONS}
    assert rows["yaml"] == "Y"
    assert rows["toggle_details"] == "d"  # refused: keeps its default
    assert rows["quit"] == "q,ctrl+c"
    assert "toggle_details" in result.stderr and "nosuch" in result.stderr


def test_readme_lists_every_binding_id():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line.split("|")[2].strip().strip("`")
            for line in readme.splitlines() if line.startswith("| `")}
    assert {a.id: a.keys for a in ACTIONS}.items() <= rows.items()


def test_kubectl_completes_the_plugins_arguments(tmp_path):
    config = _kubeconfig(tmp_path / "config")
    env = {**os.environ, "KUBECONFIG": str(config), "PATH": f"{BIN}:{os.environ['PATH']}"}
    direct = subprocess.run([str(BIN / "kubectl_complete-kdash"), "--context", "beta"], capture_output=True,
                            text=True, timeout=30, env=env)
    assert direct.stdout.splitlines() == ["beta-prod", "beta-stage", ":4"], direct.stderr
    kubectl = shutil.which("kubectl", path=env["PATH"])
    if kubectl is None:
        pytest.skip("no kubectl on PATH")
    # kubectl 1.26+ runs kubectl_complete-kdash for `kubectl kdash <TAB>`; older ones ignore it.
    through = subprocess.run([kubectl, "__complete", "kdash", "--context", ""], capture_output=True, text=True,
                             timeout=30, env=env)
    if "kubectl_complete-kdash" not in through.stderr:
        pytest.skip("this kubectl does not complete plugins")
    assert through.stdout.splitlines()[:3] == ["alpha", "beta-prod", "beta-stage"], through.stderr
