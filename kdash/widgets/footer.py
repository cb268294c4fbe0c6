"""Textual's Footer without its memory leak: every key it ever showed stayed alive."""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """The footer every kdash screen uses.

    Textual's Footer recomposes its keys on every bindings change (a screen pushed or popped, the
    cursor moving onto another kind, a key dimmed by RBAC), and each new key `data_bind`s the
    footer's `compact`: a watcher on the Footer that holds the key. Textual prunes the watchers of
    removed widgets only when `compact` changes, which it never does, so every key ever composed
    stayed in memory (a long session with the cursor moving grew by megabytes an hour;
    docs/performance.md, "Soak"). Notifying `compact` once more after each recompose lets Textual
    prune them.
    """

    async def recompose(self) -> None:
        await super().recompose()
        self.mutate_reactive(TextualFooter.compact)
