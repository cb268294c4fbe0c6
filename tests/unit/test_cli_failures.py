"""A broken setup ends `kdash` with one clear line and exit code 1, quickly, and never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _kubeconfig(path: Path, server: str) -> str:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dev",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u"}}],
    }))
    return str(path)


def _run(args: list[str], tmp_path: Path, term: str = "xterm-256color") -> tuple[subprocess.CompletedProcess, float]:
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               PYTHONPATH=str(REPO), TERM=term)
    env.pop("KUBECONFIG", None)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kdash", *args], capture_output=True, text=True,
                          timeout=60, env=env, stdin=subprocess.DEVNULL, cwd=tmp_path)
    return proc, time.monotonic() - started


def _case(name: str, tmp_path: Path) -> tuple[list[str], str]:
    """Flags for one broken setup, and a word its message must contain."""
    if name == "missing kubeconfig":
        return ["--kubeconfig", str(tmp_path / "nope")], "does not exist"
    if name == "kubeconfig not YAML":
        bad = tmp_path / "bad"
        bad.write_text("clusters: [\n\tfoo")
        return ["--kubeconfig", str(bad)], "Invalid kubeconfig"
    if name == "unknown context":
        return ["--kubeconfig", _kubeconfig(tmp_path / "k", "https://127.0.0.1:1"), "--context", "prod"], "prod"
    if name == "connection refused":
        return ["--kubeconfig", _kubeconfig(tmp_path / "k", "https://127.0.0.1:1")], "127.0.0.1:1"
    raise AssertionError(name)


CASES = ["missing kubeconfig", "kubeconfig not YAML", "unknown context", "connection refused"]


@pytest.mark.parametrize("mode", ["tree", "tui"])
@pytest.mark.parametrize("case", CASES)
def test_broken_setups_fail_fast_with_one_clear_line(case, mode, tmp_path):
    flags, word = _case(case, tmp_path)
    _check_one_clear_line(flags, word, mode, tmp_path, limit=15)


def test_a_server_that_never_answers_fails_within_the_timeouts(tmp_path):
    # A socket that is listened on but never accepted: the TCP handshake completes (backlog) and
    # then nothing — like a black-holed load balancer. (A truly unroutable address cannot be
    # tested here: this sandbox's network answers for any address.) The probe is one attempt
    # bounded by CONNECT_DEADLINE; the rest is the interpreter starting.
    from kdash.kube.client import CONNECT_DEADLINE

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        url = f"https://127.0.0.1:{server.getsockname()[1]}"
        flags = ["--kubeconfig", _kubeconfig(tmp_path / "k", url)]
        _check_one_clear_line(flags, "127.0.0.1", "tui", tmp_path, limit=CONNECT_DEADLINE + 2)


def test_a_dumb_terminal_gets_a_hint_instead_of_the_dashboard(tmp_path):
    # The kubeconfig points at a closed port: the hint comes first, without touching the network.
    flags = ["--kubeconfig", _kubeconfig(tmp_path / "k", "https://127.0.0.1:1")]
    proc, _ = _run(flags, tmp_path, term="dumb")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "kdash: this terminal (TERM=dumb) cannot show the dashboard; for text output use `kdash tree --once`"]
    assert proc.stdout == ""
    # `kdash tree` still works there (here: it fails on the closed port, as it should).
    proc, _ = _run(["tree", "--once", *flags], tmp_path, term="dumb")
    assert proc.returncode == 1 and "connection refused" in proc.stderr


def _check_one_clear_line(flags: list[str], word: str, mode: str, tmp_path: Path, limit: float) -> None:
    proc, elapsed = _run((["tree"] if mode == "tree" else []) + flags, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kdash: ") and word in lines[0], proc.stderr
    assert elapsed < limit, f"{flags}: {elapsed:.1f} s"
    # The TUI never started: no escape sequences were written.
    assert "\x1b[" not in proc.stdout
