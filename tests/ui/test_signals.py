"""On a bastion: SIGTERM, SIGHUP and a terminal that goes away end kdash within a second, whatever
it is doing, and give the terminal back."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXIT_LIMIT = 1.0


def _read(fd: int, seconds: float) -> bytes:
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def _wait_for(fd: int, marker: bytes, seconds: float = 30) -> bytes:
    screen = b""
    deadline = time.monotonic() + seconds
    while marker not in screen and time.monotonic() < deadline:
        screen += _read(fd, 0.2)
    assert marker in screen, f"{marker!r} never appeared"
    return screen


@contextmanager
def _kdash_in_a_pty(tmp_path, *args: str):
    """The fixture dashboard on a fresh pty, drawn; yields (process, the pty's leader fd)."""
    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="80", LINES="24", PYTHONPATH=REPO,
               XDG_CONFIG_HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
    # A new session without a controlling terminal: closing the pty sends no SIGHUP, as for the
    # orphans found on bastions. kdash has to notice the hang-up itself.
    proc = subprocess.Popen([sys.executable, "-m", "tests.ui.run_fixture_app", *args], stdin=follower,
                            stdout=follower, stderr=follower, cwd=REPO, env=env, start_new_session=True)
    os.close(follower)
    state = {"leader": leader}
    try:
        _wait_for(leader, b"deploy")
        yield proc, state
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if state["leader"] is not None:
            os.close(state["leader"])


def _exit_time(proc: subprocess.Popen, started: float) -> float:
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("kdash was still running 10 s later")
    return time.monotonic() - started


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_exits_fast_and_restores_the_terminal(signum, tmp_path):
    with _kdash_in_a_pty(tmp_path) as (proc, pty_state):
        started = time.monotonic()
        proc.send_signal(signum)
        elapsed = _exit_time(proc, started)
        tail = _read(pty_state["leader"], 0.5)
    assert elapsed < EXIT_LIMIT, f"took {elapsed:.2f} s to exit"
    assert proc.returncode == 0
    # Leaving the alternate screen means the user's shell is back as it was.
    assert b"\x1b[?1049l" in tail


def test_signal_with_a_modal_open_exits_fast(tmp_path):
    with _kdash_in_a_pty(tmp_path) as (proc, pty_state):
        os.write(pty_state["leader"], b"n")  # the namespace picker
        _wait_for(pty_state["leader"], b"Namespace")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        elapsed = _exit_time(proc, started)
        tail = _read(pty_state["leader"], 0.5)
    assert elapsed < EXIT_LIMIT, f"took {elapsed:.2f} s to exit"
    assert b"\x1b[?1049l" in tail


@pytest.mark.parametrize("args", [(), ("--stuck-worker",)], ids=["idle", "worker-stuck-in-a-request"])
def test_closing_the_terminal_ends_kdash_within_a_second(args, tmp_path):
    with _kdash_in_a_pty(tmp_path, *args) as (proc, pty_state):
        started = time.monotonic()
        os.close(pty_state["leader"])  # the terminal window / tmux session / SSH connection is gone
        pty_state["leader"] = None
        elapsed = _exit_time(proc, started)
    assert elapsed < EXIT_LIMIT, f"took {elapsed:.2f} s to exit"


def test_sigterm_with_a_worker_stuck_in_a_request_exits_fast(tmp_path):
    with _kdash_in_a_pty(tmp_path, "--stuck-worker") as (proc, pty_state):
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        elapsed = _exit_time(proc, started)
        tail = _read(pty_state["leader"], 0.5)
    assert elapsed < EXIT_LIMIT, f"took {elapsed:.2f} s to exit"
    assert b"\x1b[?1049l" in tail


def test_sigterm_while_suspended_for_an_editor_exits_fast_and_ends_the_editor(tmp_path):
    editor = "echo EDITING $$; exec sleep 60"  # $$: the shell's pid, which becomes the sleep's
    with _kdash_in_a_pty(tmp_path, "--suspend", editor) as (proc, pty_state):
        shown = _wait_for(pty_state["leader"], b"EDITING ")
        shown += _read(pty_state["leader"], 0.3)
        editor_pid = int(shown.split(b"EDITING ")[1].split()[0])
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        elapsed = _exit_time(proc, started)
    assert elapsed < EXIT_LIMIT, f"took {elapsed:.2f} s to exit"
    deadline = time.monotonic() + 2
    while _running(editor_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(editor_pid), "the editor outlived kdash"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:].split()[0] != b"Z"
