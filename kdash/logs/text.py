"""Pure text helpers for log lines: sanitising, include/exclude filters, search, plain-text export."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kdash.logs.buffer import LogLine
from kdash.safe_text import CONTROL_CHARACTERS, ESCAPE_SEQUENCES

TAB_SIZE = 8


def sanitize(text: str) -> str:
    """Text safe to draw: escape sequences dropped (logs are often coloured), tabs expanded, other
    controls (C1 included) shown as �."""
    if text.isprintable():
        return text  # the common case costs one C-level scan
    text = ESCAPE_SEQUENCES.sub("", text)
    if "\t" in text:
        text = text.expandtabs(TAB_SIZE)
    return CONTROL_CHARACTERS.sub("\ufffd", text)


def smart_case(pattern: str) -> bool:
    """Case-sensitive only when the pattern has an upper-case letter (like less -i / vim)."""
    return pattern != pattern.lower()


def find_spans(text: str, pattern: str) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) character spans of `pattern` in `text`, smart-case."""
    if not pattern:
        return []
    haystack = text if smart_case(pattern) else text.lower()
    needle = pattern if smart_case(pattern) else pattern.lower()
    spans: list[tuple[int, int]] = []
    start = haystack.find(needle)
    while start >= 0:
        spans.append((start, start + len(needle)))
        start = haystack.find(needle, start + len(needle))
    return spans


def line_matches(line: LogLine, pattern: str) -> bool:
    """Whether the line's text or its pod name contains `pattern` (smart-case)."""
    if smart_case(pattern):
        return pattern in line.text or pattern in line.pod
    pattern = pattern.lower()
    return pattern in line.text.lower() or pattern in line.pod.lower()


@dataclass(frozen=True)
class TextFilter:
    """Keep lines containing `pattern`, or with `exclude` hide them; markers always stay."""

    pattern: str
    exclude: bool = False

    @classmethod
    def parse(cls, text: str) -> TextFilter | None:
        """"text" keeps matching lines, "!text" hides them; blank (or a lone "!") = no filter."""
        text = text.strip()
        exclude = text.startswith("!")
        pattern = text[1:].strip() if exclude else text
        return cls(pattern, exclude) if pattern else None

    def keeps(self, line: LogLine) -> bool:
        if line.marker:
            return True  # "pod gone" and "reconnecting" notes explain gaps; never hide them
        return line_matches(line, self.pattern) != self.exclude

    def __str__(self) -> str:
        return ("!" if self.exclude else "") + self.pattern


def prefix_of(line: LogLine, with_container: bool) -> str:
    """"pod " or "pod/container " as shown in front of a line of a multi-pod stream."""
    if line.marker or not line.pod:
        return ""
    return f"{line.pod}/{line.container} " if with_container else f"{line.pod} "


def format_plain(line: LogLine, *, prefix: bool, with_container: bool, timestamps: bool) -> str:
    """The line as shown on screen, without colours (for saving and copying)."""
    parts = []
    if prefix:
        parts.append(prefix_of(line, with_container))
    if timestamps and line.timestamp:
        parts.append(line.timestamp + " ")
    parts.append(line.text)
    return "".join(parts)


def default_save_path(name: str, now: datetime, directory: str = ".") -> str:
    """./kdash-logs-<name>-<YYYYmmdd-HHMMSS>.log, with the name made file-name safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "logs"
    # os.path.join keeps the "./": the prompt shows where the file goes relative to the cwd.
    return os.path.join(directory, f"kdash-logs-{safe}-{now:%Y%m%d-%H%M%S}.log")


def save_lines(path: str | Path, texts: Iterable[str]) -> int:
    """Write one text per line (UTF-8); returns how many were written. Raises OSError."""
    target = Path(path).expanduser()
    count = 0
    with target.open("w", encoding="utf-8", newline="\n") as handle:
        for text in texts:
            handle.write(text)
            handle.write("\n")
            count += 1
    return count
