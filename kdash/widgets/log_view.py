"""A log view over a RingBuffer that renders only visible lines (prefixes, filter, search, wrap)."""

from __future__ import annotations

import bisect
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kdash.logs.buffer import LogLine, RingBuffer
from kdash.logs.text import TextFilter, find_spans, format_plain, prefix_of

# Prefix colours by pod (the follower hands out indexes); ANSI names so every theme shows them.
PREFIX_COLORS = ("cyan", "magenta", "green", "yellow", "bright_blue", "bright_red",
                 "bright_cyan", "bright_magenta")
# Line segments are cached for about a screenful. A bigger cache only keeps lines that scrolled
# away alive long enough to reach the GC's oldest generation, whose collections are the longest
# UI stalls under a flood (measured: 120-150 ms each on a 2-core machine).
CACHE_SCREENS = 3
SETTINGS = ("timestamps", "wrap", "prefix", "prefix_container", "line_filter", "search")


class LogView(ScrollView, can_focus=True):
    """Shows the lines of `buffer` that pass `line_filter`; call `lines_added` after appending.

    Rows are tracked as absolute line ids (see RingBuffer), so when old lines fall off the
    buffer a paused view stays on the lines it showed. With `follow` on, new lines scroll into
    view; moving the cursor up turns it off (end/G turns it back on).
    """

    COMPONENT_CLASSES = {"log-view--cursor", "log-view--match", "log-view--marker", "log-view--timestamp"}
    DEFAULT_CSS = """
    LogView { background: $surface; color: $foreground; }
    LogView > .log-view--cursor { background: $primary 30%; }
    LogView > .log-view--match { background: $warning; color: $background; }
    LogView > .log-view--marker { color: $text-muted; text-style: italic; }
    LogView > .log-view--timestamp { color: $text-muted; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "top", "Top", show=False),
        Binding("end", "bottom", "Bottom", show=False),
        Binding("left,h", "scroll_left", "Left", show=False),
        Binding("right,l", "scroll_right", "Right", show=False),
    ]

    def __init__(self, buffer: RingBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        self.follow = True
        self.timestamps = False
        self.wrap = False
        self.prefix = False
        self.prefix_container = False
        self.line_filter: TextFilter | None = None
        self.search = ""
        self.cursor: int | None = None  # a line id; None = the last line
        self._ids: list[int] = []  # ids of the shown lines, ascending; valid from _start
        self._rows_before: list[int] = []  # rows above each line (grows forever until rebuild)
        self._start = 0
        self._rows_end = 0
        self._max_width = 0
        self._wrap_width = 80
        self._segment_cache: dict[int, tuple[list[Segment], int]] = {}  # line id -> (segments, width)
        self._styles: dict[str, Style] = {}

    # -- data in --------------------------------------------------------------------------

    def lines_added(self, ids: range) -> None:
        """Show new buffer lines (ids as returned by RingBuffer.extend); drops evicted ones."""
        removed_rows = self._trim()
        shown_rows = self.row_count  # new lines start at this row
        first = self.buffer.first_id
        for line_id in ids:
            if line_id >= first:
                self._append(line_id, self.buffer.get(line_id))
        self._after_change(removed_rows, shown_rows)

    def configure(self, **settings: Any) -> None:
        """Change display settings (names in SETTINGS) and re-lay out the lines."""
        for key, value in settings.items():
            if key not in SETTINGS:
                raise TypeError(f"unknown log view setting {key!r}")
            setattr(self, key, value)
        # Wrapped lines never need sideways scrolling; without this, the vertical scrollbar
        # taking two columns would bring up a useless horizontal one.
        self.styles.overflow_x = "hidden" if self.wrap else "auto"
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute rows from the buffer (after a filter/layout change or a buffer clear)."""
        self._ids, self._rows_before = [], []
        self._start = self._rows_end = self._max_width = 0
        self._segment_cache.clear()
        for line_id in self.buffer.ids():
            self._append(line_id, self.buffer.get(line_id))
        if self.cursor is not None and self.cursor not in self.buffer:
            self.cursor = None
        self._after_change(0)
        self._scroll_to_cursor()

    def set_follow(self, follow: bool) -> None:
        self.follow = follow
        if follow:
            self.cursor = None
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif self.cursor is None and self.row_count:
            self.cursor = self._line_at_row(min(self.row_count - 1, round(self.scroll_y) + self.size.height - 1))
        self.refresh()

    # -- reading --------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        if self.empty:
            return 0
        return self._rows_end - self._rows_before[self._start]

    @property
    def line_ids(self) -> list[int]:
        """Ids of the shown lines (a copy)."""
        return self._ids[self._start:]

    @property
    def empty(self) -> bool:
        return self._start >= len(self._ids)

    def current_line(self) -> LogLine | None:
        """The line under the cursor (the newest shown line when following)."""
        if self.empty:
            return None
        line_id = self.cursor if self.cursor is not None else self._ids[-1]
        return self.buffer.get(line_id) if line_id in self.buffer else None

    def plain(self, line: LogLine) -> str:
        return format_plain(line, prefix=self.prefix, with_container=self.prefix_container,
                            timestamps=self.timestamps)

    def plain_lines(self) -> list[str]:
        """Every shown line as plain text, the way it is displayed (for saving)."""
        return [self.plain(self.buffer.get(i)) for i in self.line_ids]

    def visible_text(self) -> list[str]:
        """The lines currently on screen as plain text (tests, debugging)."""
        top = round(self.scroll_y)
        rows = range(top, min(self.row_count, top + self.size.height))
        ids = dict.fromkeys(self._line_at_row(row) for row in rows)
        return [self.plain(self.buffer.get(i)) for i in ids]

    # -- search ---------------------------------------------------------------------------

    def find(self, forward: bool = True) -> bool:
        """Move the cursor to the next (or previous) line matching `search`; wraps around."""
        ids = self.line_ids
        if not self.search or not ids:
            return False
        start = self._cursor_index() - self._start
        count = len(ids)
        step = 1 if forward else -1
        for offset in range(1, count + 1):
            index = (start + step * offset) % count
            if find_spans(self.buffer.get(ids[index]).text, self.search):
                self.follow = False
                self.cursor = ids[index]
                self._scroll_to_cursor()
                self.refresh()
                return True
        return False

    def count_matches(self) -> int:
        if not self.search:
            return 0
        return sum(1 for i in self.line_ids if find_spans(self.buffer.get(i).text, self.search))

    # -- key actions ----------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if self.empty:
            return
        index = self._cursor_index() if not self.follow else len(self._ids) - 1
        index = max(self._start, min(len(self._ids) - 1, index + delta))
        self.follow = False
        self.cursor = self._ids[index]
        self._scroll_to_cursor()
        self.refresh()

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 1))

    def action_top(self) -> None:
        self.action_cursor(-len(self._ids))

    def action_bottom(self) -> None:
        self.set_follow(True)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.follow:
            self.set_follow(False)

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_y) + event.y
        if 0 <= row < self.row_count:
            self.follow = False
            self.cursor = self._line_at_row(row)
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        width = max(1, self.size.width)
        if width != self._wrap_width:
            self._wrap_width = width
            if self.wrap:
                self.rebuild()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()  # the theme changed: component styles and cached strips are stale
        self._segment_cache.clear()

    # -- rendering ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        row = round(self.scroll_y) + y
        if not 0 <= row < self.row_count:
            return Strip.blank(width, base)
        index = self._index_at_row(row)
        line_id = self._ids[index]
        segments, line_width = self._segments(line_id)
        if self.wrap:
            start = (row - (self._rows_before[index] - self._rows_before[self._start])) * width
        else:
            start = round(self.scroll_x)
        if not self.follow and line_id == self.cursor:
            base = base + self._style("log-view--cursor")
        if start or line_width > width:
            segments = list(Segment.divide(segments, [start, start + width]))[1]
        # Segment styles win over the base: search matches stay visible on the cursor line.
        out = list(Segment.apply_style(segments, base))
        pad = width - max(0, min(line_width, start + width) - start)
        if pad > 0:
            out.append(Segment(" " * pad, base))
        # One Strip per painted row: each Strip carries seven caches, so building them only to
        # crop or restyle them made most of the garbage under a flood.
        return Strip(out, width)

    def _segments(self, line_id: int) -> tuple[list[Segment], int]:
        """The whole line's segments and cell width, cached for about a screenful of lines."""
        cached = self._segment_cache.get(line_id)
        if cached is None:
            if len(self._segment_cache) >= CACHE_SCREENS * max(self.size.height, 10):
                del self._segment_cache[next(iter(self._segment_cache))]  # the oldest entry (dicts keep order)
            line = self.buffer.get(line_id)
            cached = self._segment_cache[line_id] = (self._build_segments(line), self._width_of(line))
        return cached

    def _build_segments(self, line: LogLine) -> list[Segment]:
        if line.marker:
            return [Segment(line.text, self._style("log-view--marker"))]
        segments: list[Segment] = []
        if self.prefix:
            color = PREFIX_COLORS[line.color % len(PREFIX_COLORS)]
            segments.append(Segment(prefix_of(line, self.prefix_container), Style(color=color)))
        if self.timestamps and line.timestamp:
            segments.append(Segment(line.timestamp + " ", self._style("log-view--timestamp")))
        text = line.text
        position = 0
        match = self._style("log-view--match")
        for start, end in find_spans(text, self.search):
            segments.append(Segment(text[position:start]))
            segments.append(Segment(text[start:end], match))
            position = end
        segments.append(Segment(text[position:]))
        return [s for s in segments if s.text]

    def _style(self, component: str) -> Style:
        style = self._styles.get(component)
        if style is None:
            style = self._styles[component] = self.get_component_rich_style(component, partial=True)
        return style

    # -- rows -----------------------------------------------------------------------------

    def _append(self, line_id: int, line: LogLine) -> None:
        if self.line_filter is not None and not self.line_filter.keeps(line):
            return
        width = self._width_of(line)
        self._ids.append(line_id)
        self._rows_before.append(self._rows_end)
        self._rows_end += max(1, -(-width // self._wrap_width)) if self.wrap else 1
        if width > self._max_width:
            self._max_width = width

    def _width_of(self, line: LogLine) -> int:
        text = line.text
        width = len(text) if text.isascii() else cell_len(text)
        if line.marker:
            return width
        if self.prefix:
            width += len(prefix_of(line, self.prefix_container))
        if self.timestamps and line.timestamp:
            width += len(line.timestamp) + 1
        return width

    def _trim(self) -> int:
        """Forget ids that fell off the buffer; returns how many rows went from the top."""
        first = self.buffer.first_id
        ids, start = self._ids, self._start
        if start >= len(ids) or ids[start] >= first:
            return 0
        top = self._rows_before[start]
        start = bisect.bisect_left(ids, first, lo=start)
        removed = (self._rows_before[start] if start < len(ids) else self._rows_end) - top
        if start > 4096 and start * 2 > len(ids):
            # Compact now and then: amortised O(1) per line instead of a slice per batch.
            del ids[:start]
            del self._rows_before[:start]
            start = 0
        self._start = start
        return removed

    def _after_change(self, removed_rows: int, shown_rows: int | None = None) -> None:
        """Resize, then scroll to the end (following) or keep the same lines in view (paused)."""
        width = self._wrap_width if self.wrap else self._max_width
        self.virtual_size = Size(width, self.row_count)
        repaint = shown_rows is None or self.follow
        if self.follow and not self.is_vertical_scrollbar_grabbed:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif removed_rows:
            top = self.scroll_y
            self.scroll_to(y=max(0, top - removed_rows), animate=False, immediate=True)
            repaint |= removed_rows > top  # lines shown at the top fell off the buffer
        # A paused view whose new lines all land below the screen needs no repaint.
        if repaint or (shown_rows is not None and shown_rows < self.scroll_y + self.size.height):
            self.refresh()

    def _index_at_row(self, row: int) -> int:
        target = self._rows_before[self._start] + row
        return bisect.bisect_right(self._rows_before, target, lo=self._start) - 1

    def _line_at_row(self, row: int) -> int:
        return self._ids[self._index_at_row(row)]

    def _cursor_index(self) -> int:
        if self.cursor is None:
            return len(self._ids) - 1
        index = bisect.bisect_left(self._ids, self.cursor, lo=self._start)
        return min(index, len(self._ids) - 1)

    def _scroll_to_cursor(self) -> None:
        if self.follow or self.cursor is None or self.empty:
            return
        index = self._cursor_index()
        top = self._rows_before[index] - self._rows_before[self._start]
        bottom = (self._rows_before[index + 1] if index + 1 < len(self._ids) else self._rows_end) \
            - self._rows_before[self._start]
        height = max(1, self.size.height)
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False, immediate=True)
        elif bottom > self.scroll_y + height:
            self.scroll_to(y=bottom - height, animate=False, immediate=True)
