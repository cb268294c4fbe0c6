"""The help screen: every action of the registry with its keys, grouped."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kdash.actions.registry import ACTIONS

GROUP_TITLES = {"app": "Application", "view": "View", "rollout": "Rollout control",
                "pods": "Exec and port-forward", "logs": "Logs",
                "watch": "Rollout watch"}


def help_table(keys_for) -> Table:
    """A table of every registry action; `keys_for(action)` returns the keys as displayed."""
    table = Table(box=None, show_header=True, header_style="bold", expand=True, padding=(0, 1))
    table.add_column("key", no_wrap=True)
    table.add_column("action", no_wrap=True)
    table.add_column("what it does")
    for group, title in GROUP_TITLES.items():
        actions = [a for a in ACTIONS if a.group == group]
        if not actions:
            continue
        table.add_row(Text(title, style="bold underline"), "", "")
        for action in actions:
            suffix = " (writes)" if action.writes else ""
            table.add_row(keys_for(action), action.description, action.help + suffix)
    table.add_row("ctrl+p", "Palette", "Command palette: search and run any action")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 100; max-width: 100%; height: 90%; border: round $primary;
                                  background: $surface; }
    HelpScreen #help-table { width: 100%; }
    """

    def __init__(self, keys_for) -> None:
        super().__init__()
        self._keys_for = keys_for

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_table(self._keys_for), id="help-table")
