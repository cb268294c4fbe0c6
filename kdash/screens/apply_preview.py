"""Server-side dry-run preview of an apply: per object created / changed (diff) / unchanged / error."""

from __future__ import annotations

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Static

from kdash.actions.apply import Plan
from kdash.screens.confirm import ConfirmScreen
from kdash.widgets.footer import Footer

STATUS_STYLE = {"created": "bold green", "changed": "bold yellow", "unchanged": "dim", "error": "bold red"}


def plan_renderable(plan: Plan) -> Group:
    """The preview body: one heading per object, then its diff or error."""
    parts: list = []
    for item in plan.items:
        manifest = item.manifest
        heading = Text.assemble((f"{item.status:>9}  ", STATUS_STYLE.get(item.status, "")),
                                (manifest.target, "bold"), f"  ({manifest.where})")
        parts.append(heading)
        if item.deleting:
            parts.append(Text(f"           {item.deleting}", style="bold yellow"))
        if item.status == "error":
            parts.append(Text(f"           {item.message}", style="red"))
        elif item.waits_for:
            parts.append(Text(f"           checked by the server once Namespace {item.waits_for} is created "
                              "(first, when you apply)", style="yellow"))
        elif item.status == "changed" and item.diff:
            parts.append(Syntax(item.diff, "diff", theme="ansi_dark", background_color="default"))
    return Group(*parts)


class ApplyPreviewScreen(Screen[str | None]):
    """Dismisses with "apply", "force" (re-plan taking over conflicting fields) or None."""

    BINDINGS = [Binding("escape,q", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ApplyPreviewScreen #title { height: auto; background: $panel; padding: 0 1; }
    ApplyPreviewScreen #buttons { height: auto; align-horizontal: right; padding: 0 1; }
    ApplyPreviewScreen Button { margin: 0 1; }
    """

    def __init__(self, plan: Plan, source: str, context: str, protected: bool) -> None:
        super().__init__()
        self.plan = plan
        self.source = source
        self.context_name = context
        self.protected = protected

    def compose(self) -> ComposeResult:
        ok = self.plan.ok
        verdict = "server dry run passed" if ok else "NOTHING WILL BE APPLIED: fix the errors below"
        if not self.plan.items:
            verdict = "nothing to apply"
        elif ok and self.plan.waiting:
            verdict += " (objects in new namespaces: checked once those exist, before they are applied)"
        yield Static(Text.assemble(("Apply ", "bold"), (self.source, "bold"), f" to context {self.context_name}\n",
                                   f"{self.plan.summary()} — {verdict}",
                                   style="" if ok else "bold red"), id="title")
        with VerticalScroll():
            yield Static(plan_renderable(self.plan), id="plan")
        with Horizontal(id="buttons"):
            yield Button("Cancel", id="cancel")
            if any(item.conflict for item in self.plan.errors):
                yield Button("Take over conflicting fields", id="force", variant="warning")
            yield Button("Apply", id="apply", variant="warning", disabled=not ok or self._nothing_to_do())
        yield Footer()

    def _nothing_to_do(self) -> bool:
        return all(item.status == "unchanged" for item in self.plan.items)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self._confirm_apply()
        elif event.button.id == "force":
            self.dismiss("force")
        else:
            self.dismiss(None)

    def _confirm_apply(self) -> None:
        if not self.protected:
            self.dismiss("apply")
            return
        # The preview already names the objects and the context; a protected one also needs its name typed.
        def confirmed(yes: bool | None) -> None:
            # Not a lambda: the callback runs in this screen's handler, and returning dismiss()'s
            # awaitable from it makes Textual await it there (ScreenError).
            if yes:
                self.dismiss("apply")

        self.app.push_screen(ConfirmScreen(f"Apply {self.source}?", self.context_name, self.plan.summary(),
                                           protected=True, verb="Apply"), confirmed)

    def action_cancel(self) -> None:
        self.dismiss(None)
