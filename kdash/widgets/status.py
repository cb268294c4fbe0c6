"""The header line (context, namespace, server version, watch health) and the details pane."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from kdash.safe_text import visible


class HeaderLine(Static):
    """One line: kdash │ context │ namespace │ server version │ live / reconnecting."""

    DEFAULT_CSS = """
    HeaderLine { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    _shown: tuple | None = None

    def show(self, context: str, namespace: str, version: str, health: str, view: str,
             readonly: bool, health_style: str) -> None:
        # Called on every store flush; the line rarely changes. An update would re-render it and,
        # with a layout pass, every widget on the screen.
        shown = (context, namespace, version, health, view, readonly, health_style)
        if shown == self._shown:
            return
        self._shown = shown
        text = Text.assemble(
            ("kdash", "bold"), "  ctx ", (context, "bold"), "  ns ", (namespace, "bold"),
            "  ", (version, "dim"), "  ", (view, "italic"),
        )
        if readonly:
            text.append("  READONLY", style="bold reverse")
        text.append("  ")
        text.append(f"● {health}", style=health_style)
        self.update(text, layout=False)  # one line, always


class DetailsPane(Static):
    """Describe-like sections and recent events for the selected object."""

    DEFAULT_CSS = """
    DetailsPane { height: auto; padding: 0 1; }
    """

    _shown: tuple | None = None

    def show(self, title: str, sections: list[tuple[str, list[tuple[str, str]]]],
             events: list[tuple[str, str, str, str]], muted: str) -> None:
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
        self.update(Group(*parts))
