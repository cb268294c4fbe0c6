"""The editor runner: every way an editor can fail is a KdashError, the terminal always comes back."""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from kdash.editor import edit_text, editor_command
from kdash.errors import KdashError

SECRET = "password: hunter2\n"


class Terminal:
    """Stands in for App.suspend: records hand-overs and whether each one came back."""

    def __init__(self) -> None:
        self.suspended = 0
        self.resumed = 0

    @contextmanager
    def suspend(self):
        self.suspended += 1
        yield
        self.resumed += 1  # like Textual: skipped when the block raises


def script(tmp_path: Path, body: str, name: str = "editor") -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_missing_editor_is_refused_before_the_terminal_is_handed_over(tmp_path: Path) -> None:
    terminal = Terminal()
    with pytest.raises(KdashError) as info:
        edit_text(SECRET, terminal.suspend, environ={"EDITOR": "nano-not-installed-here"})
    assert info.value.title == "Editor not found"
    assert "nano-not-installed-here" in info.value.message and "$EDITOR" in info.value.message
    assert terminal.suspended == 0
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("value", ["   ", "\t", "''"])
def test_blank_editor_is_a_message_that_never_quotes_the_data(value: str) -> None:
    terminal = Terminal()
    with pytest.raises(KdashError) as info:
        edit_text(SECRET, terminal.suspend, environ={"VISUAL": value})
    assert "blank" in info.value.message and "$VISUAL" in info.value.message
    assert "hunter2" not in str(info.value)
    assert terminal.suspended == 0


def test_unbalanced_quotes_are_refused() -> None:
    with pytest.raises(KdashError, match="not a valid command line"):
        editor_command({"EDITOR": "vim 'oops"})


def test_kube_editor_then_visual_then_editor_then_vi(monkeypatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    assert editor_command({"KUBE_EDITOR": "nano -w", "VISUAL": "vim", "EDITOR": "ed"}) == ["nano", "-w"]
    assert editor_command({"VISUAL": "vim", "EDITOR": "ed"}) == ["vim"]
    assert editor_command({"EDITOR": "code --wait"}) == ["code", "--wait"]
    assert editor_command({}) == ["vi"]


def test_non_zero_exit_abandons_the_edit_and_the_terminal_comes_back(tmp_path: Path) -> None:
    editor = script(tmp_path, 'echo "changed: yes" >> "$1"\nexit 1\n')  # like vim's :cq after a change
    terminal = Terminal()
    with pytest.raises(KdashError) as info:
        edit_text(SECRET, terminal.suspend, environ={"EDITOR": editor})
    assert "exited with status 1" in info.value.message and "nothing was changed" in info.value.message
    assert (terminal.suspended, terminal.resumed) == (1, 1)
    assert "hunter2" not in str(info.value)


def test_a_saved_edit_comes_back_and_the_private_file_is_removed(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    editor = script(tmp_path, f'stat -c %a "$1" > {seen}\necho "$1" >> {seen}\necho "b: 2" >> "$1"\n')
    terminal = Terminal()
    assert edit_text("a: 1\n", terminal.suspend, ".yaml", environ={"EDITOR": editor}) == "a: 1\nb: 2\n"
    mode, name = seen.read_text().split()
    assert mode == "600" and name.endswith(".yaml")
    assert not Path(name).exists()
    assert (terminal.suspended, terminal.resumed) == (1, 1)


def test_an_editor_that_cannot_start_comes_back_with_a_message(tmp_path: Path) -> None:
    garbage = tmp_path / "editor"
    garbage.write_bytes(b"\x7fELF not really")  # on PATH and executable, but exec fails
    garbage.chmod(0o755)
    terminal = Terminal()
    with pytest.raises(KdashError) as info:
        edit_text(SECRET, terminal.suspend, environ={"EDITOR": str(garbage)})
    assert info.value.title == "Editor" and "cannot run" in info.value.message
    assert (terminal.suspended, terminal.resumed) == (1, 1)


def test_a_terminal_that_cannot_be_suspended_is_a_message() -> None:
    @contextmanager
    def refuse():
        raise RuntimeError("App.suspend is not supported in this environment.")
        yield

    with pytest.raises(KdashError, match="cannot hand the terminal to"):
        edit_text(SECRET, refuse, environ={"EDITOR": "true"})


def test_sigterm_while_editing_ends_the_editor_and_is_handed_back(tmp_path: Path) -> None:
    editor = script(tmp_path, "sleep 30\n")
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
    try:
        terminal = Terminal()
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        started = time.monotonic()
        with pytest.raises(KdashError, match="SIGTERM received while editing; nothing was changed"):
            edit_text(SECRET, terminal.suspend, environ={"EDITOR": editor})
        assert time.monotonic() - started < 5, "kdash waited for the editor"
        assert received == [signal.SIGTERM], "the signal goes on to kdash's own handler"
        assert (terminal.suspended, terminal.resumed) == (1, 1)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_editor_runner_needs_no_textual() -> None:
    from tests.unit.test_layers import imported_modules

    loaded = imported_modules("kdash.editor")
    assert "kdash.editor" in loaded and "textual" not in loaded
