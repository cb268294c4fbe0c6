"""The one-line Input of kdash's prompts: keys take effect in the order typed; pastes hold only text."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from kdash.safe_text import without_controls


class LineInput(Input):
    """Input that runs its own key bindings (backspace, arrows, …) as the key arrives.

    Textual resolves a focused widget's bindings only once the key event has bubbled back up to
    the App, one message queue per ancestor, while printable keys are inserted by the Input at
    once: a character that arrived in the same terminal read as a backspace (`\\x7f4`) is inserted
    before the backspace runs, and the backspace then deletes it.
    """

    async def _on_key(self, event: events.Key) -> None:
        # Otherwise Textual goes on to Input's own handler (Textual calls each class's in turn).
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return

    def _on_paste(self, event: events.Paste) -> None:
        # The first line, as Input keeps it, without escape sequences or other control characters.
        lines = event.text.splitlines()
        super()._on_paste(events.Paste(without_controls(lines[0]) if lines else ""))
        event.prevent_default()  # Textual would run Input's own handler on the raw text next
        event.stop()
