"""The output of a one-shot exec: stdout, stderr and the exit code, like `kubectl exec POD -- CMD`."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from kdash.actions.exec import ExecResult


def output_text(result: ExecResult) -> Text:
    """stdout as it came, then stderr in the error colour; bytes that are not UTF-8 are replaced."""
    text = Text(result.stdout.decode("utf-8", "replace"))
    if result.stderr:
        if text and not text.plain.endswith("\n"):
            text.append("\n")
        text.append(result.stderr.decode("utf-8", "replace"), style="red")
    text.rstrip()  # the last newline would show as an empty line
    if result.truncated:
        text.append("\n(output cut: too long to keep)", style="italic")
    return text


class ExecOutputScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    ExecOutputScreen { align: center middle; }
    ExecOutputScreen > Vertical { width: 100; max-width: 95%; height: auto; max-height: 90%;
                                  border: round $primary; background: $surface; padding: 0 1; }
    ExecOutputScreen #exec-title { text-style: bold; }
    ExecOutputScreen VerticalScroll { height: auto; max-height: 30; }
    ExecOutputScreen .failed { color: $error; }
    """

    def __init__(self, title: str, result: ExecResult) -> None:
        super().__init__()
        self._title = title
        self.result = result

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, id="exec-title", markup=False)
            with VerticalScroll():
                yield Static(output_text(self.result), id="exec-output", markup=False)
            code = self.result.exit_code
            yield Label(f"exit code {code}   esc: close", id="exec-exit", classes="failed" if code else "",
                        markup=False)
