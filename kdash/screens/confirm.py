"""Confirmation for every write: names the object and the context; protected contexts need the name typed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from kdash.widgets.line_input import LineInput

if TYPE_CHECKING:
    from rich.syntax import Syntax  # a type only: importing pygments is left to the screens that show a diff


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only on an explicit yes (and the typed context name when protected)."""

    BINDINGS = [Binding("escape,n", "cancel", "Cancel"), Binding("y", "confirm", "Yes", show=False)]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 76; max-width: 95%; height: auto; max-height: 90%;
                               border: thick $warning; background: $surface; padding: 0 1; }
    ConfirmScreen #title { text-style: bold; width: 100%; }  /* long titles wrap, not cut */
    ConfirmScreen #context { color: $warning; }
    ConfirmScreen #detail { height: auto; max-height: 16; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; }
    ConfirmScreen Button { margin: 0 1; min-width: 10; }
    """

    def __init__(self, title: str, context: str, detail: str | Text | Syntax = "", *, protected: bool = False,
                 verb: str = "Apply") -> None:
        super().__init__()
        self._title = title
        self._context_name = context
        self._detail = detail
        self._protected = protected
        self._verb = verb

    def compose(self) -> ComposeResult:
        with Vertical():
            # Names and messages from the cluster and the kubeconfig: never read as markup.
            yield Label(self._title, id="title", markup=False)
            yield Label(f"context: {self._context_name}", id="context", markup=False)
            if self._detail:
                with VerticalScroll(id="detail"):
                    yield Static(self._detail, markup=False)
            if self._protected:
                yield Label(f"{self._context_name} is protected: type its name to confirm", markup=False)
                yield LineInput(placeholder=self._context_name, id="typed")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self._verb, id="confirm", variant="warning")

    def retitle(self, title: str) -> None:
        """Say something new while open (an offer whose reason changed again), keeping what was typed."""
        self._title = title
        self.query_one("#title", Label).update(title)

    def on_mount(self) -> None:
        if self._protected:
            self.query_one("#typed", Input).focus()
        else:
            self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self.action_confirm()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self._protected:
            typed = self.query_one("#typed", Input).value.strip()
            if typed != self._context_name:
                self.app.notify(f"Type {self._context_name!r} to confirm", severity="warning")
                return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
