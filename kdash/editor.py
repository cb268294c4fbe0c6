"""Run the user's editor on a private temporary file; every way it can fail becomes a KdashError."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType
from typing import Any

from kdash.errors import KdashError

# kubectl reads KUBE_EDITOR then EDITOR; VISUAL is the usual choice for a full-screen editor.
EDITOR_VARIABLES = ("KUBE_EDITOR", "VISUAL", "EDITOR")
DEFAULT_EDITOR = "vi"
# Signals that end kdash: while the editor runs they are passed on to it, then handed back.
_FORWARDED = (signal.SIGTERM, signal.SIGHUP)

Suspend = Callable[[], AbstractContextManager[Any]]


def editor_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """The editor's argv from the environment, checked to exist before the terminal is handed over."""
    env = os.environ if environ is None else environ
    variable = next((v for v in EDITOR_VARIABLES if env.get(v)), None)
    source = f"${variable}" if variable else "the default editor"
    try:
        argv = shlex.split(env[variable]) if variable else [DEFAULT_EDITOR]
    except ValueError as exc:
        raise KdashError("Editor", f"{source} is not a valid command line ({exc}); "
                         "set it to an editor, e.g. EDITOR=vi") from None
    if not argv or not argv[0].strip():
        raise KdashError("Editor", f"{source} is blank; set it to an editor, e.g. EDITOR=vi")
    if shutil.which(argv[0]) is None:
        raise KdashError("Editor not found", f"{argv[0]!r} ({source}) is not installed or not on PATH; "
                         f"set {variable or 'EDITOR'} to an editor that is")
    return argv


def edit_text(text: str, suspend: Suspend, suffix: str = ".txt",
              environ: Mapping[str, str] | None = None) -> str:
    """The text after the user edited it; KdashError (never quoting the text) if the edit did not finish.

    The editor is resolved before `suspend` hands the terminal over, so a missing one never
    leaves the screen suspended; a non-zero exit or a SIGTERM/SIGHUP means the edit is abandoned.
    """
    argv = editor_command(environ)
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="kdash-")  # mode 0600: the data is private
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        run_editor([*argv, name], suspend)
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise KdashError("Editor", "the edited file is not UTF-8 text; nothing was changed") from None
        except OSError as exc:
            raise KdashError("Editor", f"cannot read the edited file: {exc.strerror or exc}") from None
    finally:
        path.unlink(missing_ok=True)


def run_editor(argv: list[str], suspend: Suspend) -> None:
    """Run argv with the terminal handed over; KdashError unless it exits 0 on its own."""
    outcome: _Outcome | None = None
    try:
        with suspend():
            # Nothing may escape this block: Textual resumes the screen only when it ends normally.
            outcome = _run(argv)
    except Exception as exc:  # suspend() itself refused (no terminal to hand over)
        raise KdashError("Editor", f"cannot hand the terminal to {argv[0]}: {exc}") from None
    assert outcome is not None
    outcome.raise_for_failure(argv[0])


class _Outcome:
    def __init__(self) -> None:
        self.code: int | None = None
        self.signal: int | None = None
        self.error: BaseException | None = None

    def raise_for_failure(self, editor: str) -> None:
        if self.signal is not None:
            name = signal.Signals(self.signal).name
            signal.raise_signal(self.signal)  # to whoever handled it before: kdash's own exit path
            raise KdashError("Editor", f"{name} received while editing; nothing was changed")
        if isinstance(self.error, Exception):  # Popen's errors name the program, never the text
            reason = getattr(self.error, "strerror", None) or self.error
            raise KdashError("Editor", f"cannot run {editor}: {reason}")
        if self.error is not None:
            raise self.error
        if self.code != 0:
            how = f"was killed by {_signal_name(-self.code)}" if self.code and self.code < 0 \
                else f"exited with status {self.code}"
            raise KdashError("Editor", f"{editor} {how}; the edit was abandoned, nothing was changed")


def _run(argv: list[str]) -> _Outcome:
    outcome = _Outcome()
    process: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        outcome.signal = outcome.signal or signum
        if process is not None:
            process.terminate()

    def ignore(_signum: int, _frame: FrameType | None) -> None:
        pass  # ctrl+c in the editor reaches kdash too (same process group): it is the editor's

    previous = _install({**{s: forward for s in _FORWARDED}, signal.SIGINT: ignore})
    try:
        if outcome.signal is None:
            process = subprocess.Popen(argv)
            outcome.code = process.wait()
    except BaseException as exc:
        outcome.error = exc
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
    finally:
        _install(previous)
    return outcome


def _install(handlers: dict[int, Any]) -> dict[int, Any]:
    """Set handlers (main thread only, where signals are delivered); the previous ones."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    # signal() answers None for a handler set outside Python; the default is the closest match.
    return {signum: signal.signal(signum, signal.SIG_DFL if handler is None else handler)
            for signum, handler in handlers.items()}


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
