"""Full-screen diff of two revisions' pod templates (from the history view)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from kdash.render.revision_diff import RevisionDiff
from kdash.widgets.footer import Footer

LINE_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def diff_text(diff: RevisionDiff) -> Text:
    """The changed fields, then the unified diff, styled by line kind (plain text under NO_COLOR)."""
    text = Text()
    if not diff.lines:
        text.append(f"revisions {diff.old} and {diff.new} have the same pod template "
                    "(pod-template-hash aside)")
        return text
    text.append("changed: ", style="bold")
    text.append(", ".join(diff.fields) + "\n\n")
    for line in diff.lines:
        style = next((s for prefix, s in LINE_STYLES if line.startswith(prefix)), "")
        text.append(line + "\n", style=style)
    text.rstrip()
    return text


class RevisionDiffScreen(Screen[None]):
    """`escape`/`q` returns to the history."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    RevisionDiffScreen #diff-title { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, title: str, diff: RevisionDiff) -> None:
        super().__init__()
        self._title = title
        self.diff = diff

    def compose(self) -> ComposeResult:
        yield Static(Text(self._title), id="diff-title")
        with VerticalScroll():
            yield Static(diff_text(self.diff), id="diff")
        yield Footer()
