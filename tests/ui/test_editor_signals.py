"""A signal while the editor has the terminal: the editor ends, then kdash, promptly and cleanly."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time

import pytest

from tests.ui.test_signals import REPO, _read


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_during_the_editor_ends_the_editor_and_kdash(signum, tmp_path):
    started = tmp_path / "editor-started"
    editor = tmp_path / "editor"
    editor.write_text(f"#!/bin/sh\necho $$ > {started}\nexec sleep 60\n")
    editor.chmod(0o755)
    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="100", LINES="30", PYTHONPATH=REPO,
               XDG_CONFIG_HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path), EDITOR=str(editor))
    env.pop("VISUAL", None)
    env.pop("KUBE_EDITOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "tests.ui.run_edit_app"], stdin=follower,
                            stdout=follower, stderr=follower, cwd=REPO, env=env, start_new_session=True)
    os.close(follower)
    try:
        deadline = time.monotonic() + 30
        while not (started.exists() and started.read_text().strip()) and time.monotonic() < deadline:
            _read(leader, 0.2)
        assert started.exists(), "the editor never started"
        editor_pid = int(started.read_text())
        begun = time.monotonic()
        proc.send_signal(signum)
        proc.wait(timeout=10)
        elapsed = time.monotonic() - begun
        tail = _read(leader, 0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    assert elapsed < 2.0, f"took {elapsed:.2f} s: kdash waited for the editor"
    with pytest.raises(ProcessLookupError):
        os.kill(editor_pid, 0)  # the editor was ended, not left behind
    assert b"\x1b[?1049l" in tail, "the terminal was not given back"
