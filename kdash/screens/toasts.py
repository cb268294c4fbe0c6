"""Errors as toasts: a few lines in a corner, the whole text in the log."""

from __future__ import annotations

import logging
from typing import Any

from kdash.errors import KdashError

log = logging.getLogger(__name__)

# A toast is a few lines in a corner: longer errors (a server echoing a 10 KB value) are cut.
TOAST_LINES = 4
TOAST_CHARS = 180


def brief(text: str, max_lines: int = TOAST_LINES, max_chars: int = TOAST_CHARS) -> str:
    """`text` cut to `max_lines` lines and `max_chars` characters, saying how much was left out."""
    lines = text.splitlines()
    shown = "\n".join(lines[:max_lines])
    if len(shown) > max_chars:
        shown = shown[:max_chars]
        more = f"{len(text) - len(shown)} more characters"
    elif len(lines) > max_lines:
        more = f"{len(lines) - max_lines} more lines"
    else:
        return text
    return f"{shown.rstrip()}… ({more}; full text in kdash.log)"


def notify_error(app: Any, exc: KdashError, timeout: float = 12) -> None:
    """A titled error toast of a few lines; the whole message goes to the log when cut. Thread-safe."""
    message = brief(exc.message)
    if message != exc.message:
        log.error("%s: %s", exc.title, exc.message)
    app.notify(message, title=exc.title, severity="error", timeout=timeout)
