"""Ends kdash within a second of SIGTERM, SIGHUP or its terminal going away, whatever is stuck."""

from __future__ import annotations

import os
import select
import signal
import termios
import threading
import time
from collections.abc import Callable
from typing import Any

# The clean exit (Textual restores the terminal) gets this long before the process ends anyway.
EXIT_GRACE = 0.5
CLEANUP_GRACE = 1.0  # seconds a forced exit waits for the app's cleanup (stopping port-forwards)
# How often the terminal and the parent process are checked.
POLL_INTERVAL = 0.1
# Undoes what a Textual app turns on: kitty keyboard protocol, mouse reporting, bracketed paste,
# focus events, no line wrap, the alternate screen, the hidden cursor.
RESTORE_SEQUENCE = (b"\x1b[<u\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l"
                    b"\x1b[?1004l\x1b[?7h\x1b[?1049l\x1b[?25h")
_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL


class Lifeline:
    """A daemon thread that makes exit unconditional.

    It fires on SIGTERM/SIGHUP (a plain handler: it runs even while the event loop is blocked,
    e.g. writing to a terminal that is gone) or when the terminal hangs up or the parent process
    dies: it asks for the clean exit, and if the process still runs EXIT_GRACE seconds later it
    hangs up its child processes (an editor the app waits for), puts the terminal back unless
    Textual already did, and ends the process with os._exit.
    `arm()` starts the same countdown for an exit the app began itself (q), so a thread stuck in
    a request cannot keep the process alive either.
    """

    def __init__(self, request_exit: Callable[[], None], terminal_fd: int | None,
                 cooked_attrs: list[Any] | None = None, *, output_fd: int | None = None,
                 grace: float = EXIT_GRACE, exit_code: int = 0,
                 cleanup: Callable[[], object] | None = None) -> None:
        """`terminal_fd`: the terminal the app reads (watched, and its modes restored);
        `output_fd`: where the app draws (default: terminal_fd); `cooked_attrs`: the termios
        attributes from before the app's raw mode; `cleanup`: run (for CLEANUP_GRACE at most)
        before a forced exit, e.g. stopping port-forwards so their stop is audited."""
        self._request_exit = request_exit
        self._fd = terminal_fd
        self._out = output_fd if output_fd is not None else terminal_fd
        self._cooked = cooked_attrs
        self._grace = grace
        self._exit_code = exit_code
        self._cleanup = cleanup
        self._parent = os.getppid()
        self._exiting = threading.Event()
        # Taken once, never released: fire() acts once, and a signal arriving inside fire() on the
        # same thread returns instead of waiting for itself.
        self._fired = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="kdash-lifeline", daemon=True)

    def install(self) -> None:
        """From the main thread: catch SIGTERM and SIGHUP and start watching."""
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        self._thread.start()

    def fire(self) -> None:
        """Ask for the clean exit (once) and start the countdown."""
        if not self._fired.acquire(blocking=False):
            return
        self._exiting.set()
        try:
            self._request_exit()
        except Exception:  # noqa: BLE001 - the loop is gone already: the countdown still ends us
            pass

    def arm(self) -> None:
        """The app is exiting by itself: end the process EXIT_GRACE seconds from now at the latest."""
        self._exiting.set()

    def _on_signal(self, signum: int, frame: object) -> None:
        self.fire()

    def _run(self) -> None:
        while not self._exiting.wait(POLL_INTERVAL):
            if self.terminal_gone() or os.getppid() != self._parent:
                self.fire()
        time.sleep(self._grace)
        for pid in _children():
            try:
                os.kill(pid, signal.SIGHUP)  # what an editor gets when its terminal closes
            except OSError:
                pass
        self._run_cleanup()
        self._restore_terminal()
        os._exit(self._exit_code)

    def _run_cleanup(self) -> None:
        if self._cleanup is None:
            return
        # In a thread with a deadline: a cleanup stuck on the network must not keep the process alive.
        worker = threading.Thread(target=_quietly, args=(self._cleanup,), name="kdash-lifeline-cleanup", daemon=True)
        worker.start()
        worker.join(CLEANUP_GRACE)

    def terminal_gone(self) -> bool:
        """The terminal hung up (its window or SSH session closed), without reading from it."""
        if self._fd is None:
            return False
        poller = select.poll()
        poller.register(self._fd, 0)  # 0: only hang-up and error conditions are reported
        try:
            return any(events & _HANGUP for _, events in poller.poll(0))
        except OSError:
            return True

    def _restore_terminal(self) -> None:
        # Not when it is gone, nor when Textual already gave it back: leaving the alternate screen
        # twice moves the cursor to where it was when the app started.
        current = _attrs(self._fd)
        if self._fd is None or current is None or current == self._cooked:
            return
        try:
            os.write(self._out if self._out is not None else self._fd, RESTORE_SEQUENCE)
            if self._cooked is not None:
                termios.tcsetattr(self._fd, termios.TCSANOW, self._cooked)
        except (OSError, termios.error):
            pass


def _quietly(call: Callable[[], object]) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - the process ends next whatever happened
        pass


def _children() -> list[int]:
    """This process's child processes, from /proc (none where there is no /proc)."""
    me = os.getpid()
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            # The command name may hold spaces and parentheses: the fields follow its last ")".
            if int(stat[stat.rindex(b")") + 2:].split()[1]) == me:
                found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _attrs(fd: int | None) -> list[Any] | None:
    if fd is None:
        return None
    try:
        return termios.tcgetattr(fd)
    except (OSError, termios.error):
        return None
