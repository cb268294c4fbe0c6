"""Completes file paths in an Input (the suggestion is accepted with tab or →)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first entry of the typed directory that starts with the typed name."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        head, _, prefix = value.rpartition("/")
        directory = Path(os.path.expanduser(head or ".")) if head or not value.startswith("/") else Path("/")
        try:
            names = sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(directory)
                           if e.name.startswith(prefix) and (prefix.startswith(".") or not e.name.startswith(".")))
        except OSError:
            return None
        if not names:
            return None
        return f"{head}/{names[0]}" if head or value.startswith("/") else names[0]
