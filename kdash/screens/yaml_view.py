"""Full-screen YAML of one object (managedFields already dropped by the store)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml
from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from kdash.core.objects import full
from kdash.widgets.footer import Footer

# Characters PyYAML writes raw once unicode is allowed, but which break lines or act on a terminal:
# they go in double quotes, where PyYAML escapes them (\N, \L, \P; C0 and C1 it escapes anyway).
_RAW_BUT_UNSAFE = re.compile("[\x85\u2028\u2029]")


class _Dumper(yaml.SafeDumper):
    """safe_dump that keeps text as kubectl shows it (中文, 🚀) and escapes what is not text."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _RAW_BUT_UNSAFE.search(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(obj: Mapping[str, Any]) -> str:
    return yaml.dump(full(obj), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000,
                     allow_unicode=True)


class YamlScreen(Screen[None]):
    """Shows an object as YAML; `escape`/`q` returns to the dashboard."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    YamlScreen #title { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, title: str, obj: Mapping[str, Any], theme_dark: bool = True) -> None:
        super().__init__()
        self._title = title
        self._text = to_yaml(obj)
        self._theme = "monokai" if theme_dark else "default"

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="title", markup=False)
        with VerticalScroll():
            yield Static(Syntax(self._text, "yaml", theme=self._theme, background_color="default",
                                word_wrap=False), id="yaml")
        yield Footer()

    @property
    def text(self) -> str:
        return self._text
