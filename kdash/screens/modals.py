"""Small modal screens: pick one of a list, or type a line of text."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from kdash.widgets.line_input import LineInput


class PickScreen(ModalScreen[str | None]):
    """Choose one value from a list; dismisses with the value, or None on escape.

    With `multi`, space marks several values and enter dismisses with the marked ones joined by
    commas in list order (the highlighted one if none is marked); `unmarkable` values (such as
    "all namespaces") are only ever picked alone."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("space", "toggle_mark", "Mark", show=False)]
    MARK, NO_MARK = "✓ ", "  "
    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen > Vertical { width: 60; max-width: 90%; height: auto; max-height: 80%;
                            border: round $primary; background: $surface; padding: 0 1; }
    PickScreen OptionList { height: auto; max-height: 18; border: none; }
    """

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None = None, *,
                 multi: bool = False, marked: Iterable[str] = (), unmarkable: Iterable[str] = ()) -> None:
        super().__init__()
        self._title = title
        self._choices = choices  # (value, label)
        self._current = current
        self._multi = multi
        self._marked = set(marked) if multi else set()
        self._unmarkable = set(unmarkable)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, markup=False)
            # Plain text: a str prompt is read as markup, and labels come from kubeconfigs and clusters.
            yield OptionList(*(Option(self._prompt(value, label), id=value) for value, label in self._choices))

    def _prompt(self, value: str, label: str) -> Content:
        if not self._multi:
            return Content(label)
        return Content((self.MARK if value in self._marked else self.NO_MARK) + label)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self._multi if action == "toggle_mark" else True

    def action_toggle_mark(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        value, label = self._choices[options.highlighted]
        if value in self._unmarkable:
            return
        self._marked ^= {value}
        options.replace_option_prompt(value, self._prompt(value, label))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [v for v, _ in self._choices]
        if self._current in values:
            options.highlighted = values.index(self._current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        marked = [value for value, _ in self._choices if value in self._marked]
        self.dismiss(",".join(marked) if marked else event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with the text, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 70; max-width: 95%; height: auto; border: round $primary;
                              background: $surface; padding: 0 1; }
    PromptScreen .hint { color: $text-muted; }
    """

    def __init__(self, title: str, value: str = "", hint: str = "", placeholder: str = "",
                 suggester: Suggester | None = None) -> None:
        super().__init__()
        self._suggester = suggester
        self._title = title
        self._value = value
        self._hint = hint
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, markup=False)
            yield LineInput(value=self._value, placeholder=self._placeholder, suggester=self._suggester)
            if self._hint:
                yield Label(self._hint, classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
