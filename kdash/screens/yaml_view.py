"""Full-screen YAML of one object (managedFields already dropped by the store)."""

from __future__ import annotations

import yaml
from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static


def to_yaml(obj: dict) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, width=1000)


class YamlScreen(Screen[None]):
    """Shows an object as YAML; `escape`/`q` returns to the dashboard."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    YamlScreen #title { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, title: str, obj: dict, theme_dark: bool = True) -> None:
        super().__init__()
        self._title = title
        self._text = to_yaml(obj)
        self._theme = "monokai" if theme_dark else "default"

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="title")
        with VerticalScroll():
            yield Static(Syntax(self._text, "yaml", theme=self._theme, background_color="default",
                                word_wrap=False), id="yaml")
        yield Footer()

    @property
    def text(self) -> str:
        return self._text
