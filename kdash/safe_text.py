"""Text safe to draw on a terminal: control characters made visible (cat -v) or dropped, never sent."""

from __future__ import annotations

import re

# CSI (colours, cursor moves), OSC (titles, hyperlinks, clipboard) and two-byte escapes.
ESCAPE_SEQUENCES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# C0, DEL and C1: a terminal acts on each of them (C1 0x9b is a one-character CSI) instead of drawing it.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def caret(char: str) -> str:
    """cat -v notation of one control character: ^[ for ESC, ^G for BEL, ^? for DEL, M-^[ for C1 0x9b."""
    code = ord(char)
    if code == 0x7F:
        return "^?"
    if code >= 0x80:
        return "M-" + caret(chr(code - 0x80))
    return "^" + chr(code + 0x40)


def _caret_match(match: re.Match[str]) -> str:
    return caret(match.group())


def visible(text: str, keep_newlines: bool = False) -> str:
    """`text` with every control character shown as its cat -v form (a tab as one space)."""
    if text.isprintable():
        return text  # the common case costs one C-level scan
    if "\t" in text:
        text = text.replace("\t", " ")
    pattern = _CONTROLS_BUT_NEWLINE if keep_newlines else CONTROL_CHARACTERS
    return pattern.sub(_caret_match, text)


def without_controls(text: str) -> str:
    """`text` with escape sequences and other control characters removed (tabs become spaces)."""
    if text.isprintable():
        return text
    text = ESCAPE_SEQUENCES.sub("", text).replace("\t", " ")
    return CONTROL_CHARACTERS.sub("", text)
