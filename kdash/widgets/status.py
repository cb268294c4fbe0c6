"""The header line (context, namespace, server version, watch health) and the details pane."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from kdash.render.format import elide_middle, truncate
from kdash.safe_text import visible


class HeaderLine(Widget):
    """One line: kdash │ context │ namespace │ server version │ view │ READONLY │ health │ switch.

    Fitted to its width at every render: READONLY and the watch health always stay; the
    version, the brand and the view go first, then the context is elided in the middle.
    """

    DEFAULT_CSS = """
    HeaderLine { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    _shown: tuple | None = None

    def show(self, context: str, namespace: str, version: str, health: str, view: str,
             readonly: bool, health_style: str | Style, pending: str = "") -> None:
        """`pending`: the context a switch is connecting to (the one shown stays in use meanwhile)."""
        # Called on every store flush; the line rarely changes. A refresh repaints this line only.
        shown = (context, namespace, version, health, view, readonly, health_style, pending)
        if shown == self._shown:
            return
        self._shown = shown
        self.refresh()

    def render(self) -> Text:
        if self._shown is None:
            return Text()
        context, namespace, version, health, view, readonly, health_style, pending = self._shown
        return header_text(self.content_size.width, context=context, namespace=namespace, version=version,
                           view=view, readonly=readonly, health=health, health_style=health_style,
                           pending=pending)


# How the header makes room, step by step until it fits: ("drop", part) or ("shrink", part, floor).
_FIT_STEPS: tuple[tuple, ...] = (
    ("drop", "version"), ("drop", "brand"), ("shrink", "context", 32), ("shrink", "pending", 16),
    ("drop", "view"), ("shrink", "namespace", 16), ("shrink", "context", 16), ("shrink", "pending", 10),
    ("shrink", "namespace", 10), ("shrink", "health", 14), ("shrink", "context", 8), ("shrink", "pending", 6),
    ("shrink", "namespace", 6), ("shrink", "context", 3), ("shrink", "pending", 3), ("shrink", "namespace", 3),
)
_SEPARATOR = "  "


def header_text(width: int, *, context: str, namespace: str, version: str, view: str, readonly: bool,
                health: str, health_style: str | Style = "", pending: str = "") -> Text:
    """The header line for `width` cells: safety signals (READONLY, health) are never cut."""
    values = {"brand": "kdash", "context": context, "namespace": namespace, "version": version,
              "view": view, "health": health, "pending": pending}
    dropped: set[str] = set()

    def segments() -> list[list[tuple[str, str | Style]]]:
        parts: list[list[tuple[str, str | Style]]] = []
        for name, segment in (
            ("brand", [(values["brand"], "bold")]),
            ("context", [("ctx ", ""), (values["context"], "bold")]),
            ("namespace", [("ns ", ""), (values["namespace"], "bold")]),
            ("version", [(values["version"], "dim")]),
            ("view", [(values["view"], "italic")]),
            ("readonly", [("READONLY", "bold reverse")] if readonly else []),
            ("health", [(f"● {values['health']}", health_style)]),
            ("pending", [(f"connecting to {values['pending']}…", "italic")] if pending else []),
        ):
            if segment and name not in dropped and (name not in ("version", "view") or values[name]):
                parts.append(segment)  # type: ignore[arg-type]  # mypy joins the literals too narrowly
        return parts

    def overflow() -> int:
        parts = segments()
        return sum(len(t) for part in parts for t, _ in part) + len(_SEPARATOR) * (len(parts) - 1) - width

    for step in _FIT_STEPS:
        excess = overflow()
        if excess <= 0:
            break
        if step[0] == "drop":
            dropped.add(step[1])
            continue
        _, name, floor = step
        value = values[name]
        target = max(floor, len(value) - excess)
        if target < len(value):
            values[name] = truncate(value, target) if name == "health" else elide_middle(value, target)
    text = Text(no_wrap=True, overflow="crop")
    for index, part in enumerate(segments()):
        if index:
            text.append(_SEPARATOR)
        for chunk, style in part:
            text.append(chunk, style=style)
    text.truncate(max(width, 0))
    return text


class RenderedOnce:
    """A renderable that renders its tables once per width, however often it is asked to.

    Textual renders a widget of `height: auto` twice per update: once to count its lines, once
    for them; the details pane's tables showed in the UI thread's profile under churn
    (docs/performance.md, "Where the time goes now").
    """

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._key: tuple | None = None
        self._segments: list[Segment] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        key = (id(console), options.max_width, options.min_width, options.justify, options.overflow,
               options.no_wrap, options.ascii_only, options.encoding, options.highlight, options.markup)
        if key != self._key:
            self._segments = list(console.render(self.renderable, options))
            self._key = key
        return self._segments

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


class DetailsPane(Static):
    """Describe-like sections and recent events for the selected object."""

    DEFAULT_CSS = """
    DetailsPane { height: auto; padding: 0 1; }
    """

    _shown: tuple | None = None

    def show(self, title: str, sections: list[tuple[str, list[tuple[str, str]]]],
             events: list[tuple[str, str, str, str]], muted: str | Style) -> None:
        shown = (title, sections, events[-8:], muted)
        if shown == self._shown:
            return  # re-rendering the tables (and laying out the screen) for nothing is slow
        self._shown = shown
        # Cluster text shown in cat -v form before the tables measure it (the app's control
        # filter would only cut a line that grew), and as Text: a str cell is read as markup.
        parts: list = [Text(visible(title), style="bold")]
        for heading, rows in sections:
            if not rows:
                continue
            table = Table.grid(padding=(0, 1))
            table.add_column(style=muted, no_wrap=True)
            table.add_column(overflow="fold")
            for key, value in rows:
                table.add_row(Text(visible(key)), Text(visible(value, keep_newlines=True)))
            parts.append(Text(heading, style="underline"))
            parts.append(table)
        parts.append(Text("Events", style="underline"))
        if events:
            table = Table.grid(padding=(0, 1))
            for col in ("type", "reason", "age", "message"):
                table.add_column(no_wrap=col != "message", overflow="fold")
            for row in events[-8:]:
                table.add_row(*(Text(visible(cell, keep_newlines=True)) for cell in row))
            parts.append(table)
        else:
            parts.append(Text("<none>", style=muted))
        self.update(RenderedOnce(Group(*parts)))
