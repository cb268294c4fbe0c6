"""Themes, keys, help and the command palette of the app, all from the action registry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual.app import App, SystemCommand
from textual.command import Hit, Hits, Provider
from textual.screen import Screen

from kdash.actions.registry import ACTIONS, Action
from kdash.render.tree import Node
from kdash.safe_text import visible
from kdash.screens.help import HelpScreen

if TYPE_CHECKING:
    from kdash.app import KdashApp
    from kdash.config import Settings, ThemeData
    from kdash.screens.dashboard import DashboardScreen

    _App = App[None]  # mypy sees what the mixin uses of the app; at runtime it adds no base
else:
    _App = object


class ActionsProvider(Provider):
    """Command palette entries: every registry action, with its help text."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app: KdashApp = self.app  # type: ignore[assignment]  # the palette runs in kdash's app
        for action in ACTIONS:
            if action.group == "logs" and not hasattr(app.screen, f"action_{action.id}"):
                continue  # logs keys only mean something on the logs screen
            text = f"{action.description}: {action.help}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), lambda a=action: app.run_registry_action(a),
                          help=f"key: {app.keys_for(action)}")


class Keys(_App):
    """Mixed into KdashApp: health styles of the theme, key names, help, the palette's actions."""

    if TYPE_CHECKING:
        settings: Settings
        _themes: dict[str, ThemeData]

        @property
        def dashboard(self) -> DashboardScreen: ...

    def health_style(self, health: str) -> Style:
        data = self._themes.get(self.theme)
        spec = data.health.get(health, "") if data else ""
        try:
            return Style.parse(spec) if spec else Style()
        except Exception:  # a user theme with a bad colour: plain text beats a crash
            return Style()

    def style_node(self, node: Node) -> Text:
        return Text(visible(node.label), style=self.health_style(node.health or "none"), no_wrap=True)

    def watch_theme(self, theme: str) -> None:
        try:
            self.dashboard.tree.restyle()
        except LookupError:
            pass
        except Exception:  # the dashboard may not be composed yet
            pass

    def action_cycle_theme(self) -> None:
        names = sorted(self._themes)
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.notify(f"theme: {self.theme}", timeout=2)

    def keys_for(self, action: Action) -> str:
        keys = self.settings.keymap.get(action.id, action.keys)
        return ", ".join(self._display_key(k.strip()) for k in keys.split(","))

    def _display_key(self, key: str) -> str:
        return {"question_mark": "?", "slash": "/", "escape": "esc"}.get(key, key)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keys_for))

    def run_registry_action(self, action: Action) -> None:
        target = self if action.group == "app" else self.screen if action.group == "logs" else self.dashboard
        self.call_later(self.run_action, action.id, target)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Our registry provider already lists quit/help/theme; keep Textual's others.
        for command in super().get_system_commands(screen):
            if command.title.lower() not in ("quit the application", "keys"):
                yield command
