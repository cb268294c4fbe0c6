"""Terminal input parsing with bracketed pastes taken whole: pasted bytes never act as keys."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from textual import events
from textual._xterm_parser import BRACKETED_PASTE_END, BRACKETED_PASTE_START, XTermParser
from textual.message import Message

# A paste ends at the last end marker before the input goes quiet this long: terminals write a
# paste in one go, so an end marker followed at once by more bytes was part of the pasted text.
PASTE_SETTLE = 0.05
# A terminal that never sends the end marker must not swallow the keyboard for good.
PASTE_GIVE_UP = 2.0


class PasteSafeParser(XTermParser):
    """XTermParser, except that the text between the bracketed-paste markers is cut out before it
    parses anything and handed over as one Paste event.

    Textual's parser re-issues an escape sequence inside a paste as key presses (so a pasted
    `\\x1b\\r` submits a prompt, and `\\x1b[31m` is typed as `^[31m`), and it ends the paste at the
    first end marker, so pasted text holding `\\x1b[201~\\r` presses enter.
    """

    def __init__(self, debug: bool = False) -> None:
        super().__init__(debug)
        self._pasted: str | None = None  # raw text since the start marker, while a paste is open
        self._last_end = -1  # where the last end marker so far starts in _pasted
        self._last_input = 0.0

    def feed(self, data: str) -> Iterable[Message]:
        if not data:
            return list(self._flush_paste(force=True)) + list(super().feed(data))
        self._last_input = time.monotonic()
        tokens: list[Message] = []
        while data:
            if self._pasted is None:
                start = data.find(BRACKETED_PASTE_START)
                if start < 0:
                    tokens.extend(super().feed(data))
                    break
                tokens.extend(super().feed(data[:start]) if start else ())
                self._pasted, self._last_end = "", -1
                data = data[start + len(BRACKETED_PASTE_START):]
            else:
                searched = len(self._pasted)
                self._pasted += data
                data = ""
                end = self._pasted.rfind(BRACKETED_PASTE_END, max(0, searched - len(BRACKETED_PASTE_END)))
                if end >= 0:
                    self._last_end = end
        return tokens

    def tick(self) -> Iterable[Message]:
        yield from self._flush_paste()
        yield from super().tick()

    def _flush_paste(self, force: bool = False) -> Iterable[Message]:
        """The paste, once the input has been quiet since its last end marker; then what followed."""
        if self._pasted is None:
            return
        quiet = time.monotonic() - self._last_input
        if not force and not (self._last_end >= 0 and quiet >= PASTE_SETTLE) and quiet < PASTE_GIVE_UP:
            return
        pasted, end = self._pasted, self._last_end
        self._pasted, self._last_end = None, -1
        if end < 0:
            end = len(pasted)
        yield events.Paste(pasted[:end].replace("\x00", ""))
        rest = pasted[end + len(BRACKETED_PASTE_END):]
        if rest:
            yield from self.feed(rest)


def install(driver_class: type) -> type:
    """Make `driver_class` parse input with PasteSafeParser (drivers create their parser by name)."""
    module = sys.modules.get(driver_class.__module__)
    if module is not None and getattr(module, "XTermParser", None) is XTermParser:
        module.XTermParser = PasteSafeParser  # type: ignore[attr-defined]
    return driver_class
