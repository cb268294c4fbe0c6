"""On a bastion: SIGTERM and SIGHUP end kdash within a second and give the terminal back."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_exits_fast_and_restores_the_terminal(signum, tmp_path):
    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="80", LINES="24", PYTHONPATH=REPO,
               XDG_CONFIG_HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "tests.ui.run_fixture_app"], stdin=follower,
                            stdout=follower, stderr=follower, cwd=REPO, env=env, start_new_session=True)
    os.close(follower)
    try:
        screen = b""
        deadline = time.monotonic() + 30
        while b"deploy" not in screen and time.monotonic() < deadline:
            screen += _read(leader, 0.5)
        assert b"deploy" in screen, "the dashboard never drew"
        started = time.monotonic()
        proc.send_signal(signum)
        proc.wait(timeout=5)
        elapsed = time.monotonic() - started
        tail = _read(leader, 0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    assert elapsed < 1.0, f"took {elapsed:.2f} s to exit"
    assert proc.returncode == 0
    # Leaving the alternate screen means the user's shell is back as it was.
    assert b"\x1b[?1049l" in tail
