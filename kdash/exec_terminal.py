"""Attach the local terminal to an exec session: raw mode, window size passed on, bytes copied both ways."""

from __future__ import annotations

import os
import select
import termios
import threading
import tty

from kdash.kube.exec import ExecSession

SIZE_EVERY = 0.2  # seconds between window-size checks (polling works from any thread, unlike SIGWINCH)


def _size(fd: int) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.columns, size.lines


def _copy_output(session: ExecSession, out_fd: int) -> None:
    while (item := session.read()) is not None:
        data = item[1]
        while data:
            try:
                data = data[os.write(out_fd, data):]
            except InterruptedError:
                continue
            except OSError:
                return


def attach(session: ExecSession, in_fd: int = 0, out_fd: int = 1) -> int | None:
    """Run until the remote command ends (or the local input closes); its exit code.

    The terminal is put in raw mode (keys such as ctrl+c go to the remote side) and restored
    afterwards whatever happens; for a Textual app call it inside `App.suspend()`.
    """
    saved = termios.tcgetattr(in_fd) if os.isatty(in_fd) else None
    output = threading.Thread(target=_copy_output, args=(session, out_fd), name="kdash-exec-output", daemon=True)
    try:
        if saved is not None:
            tty.setraw(in_fd, termios.TCSANOW)  # keep what was typed ahead
        last = _size(out_fd)
        if last:
            session.resize(*last)
        output.start()
        while not session.done:
            readable, _, _ = select.select([in_fd], [], [], SIZE_EVERY)
            if readable:
                try:
                    data = os.read(in_fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    break  # local input closed: hang up
                session.write(data)
            size = _size(out_fd)
            if size and size != last:
                session.resize(*size)
                last = size
    finally:
        session.close()  # hang up if the local side ended first; the reader has stopped either way
        if output.is_alive():
            output.join(timeout=2)  # the last output lands before the terminal leaves raw mode
        if saved is not None:
            termios.tcsetattr(in_fd, termios.TCSAFLUSH, saved)
    return session.exit_code
