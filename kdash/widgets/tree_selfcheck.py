"""Debug self-check: the tree widget's lines against a fresh build, differences logged with recent changes."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from kdash.render.tree import Node
from kdash.widgets.resource_tree import ResourceTree

log = logging.getLogger("kdash.selfcheck")
SELFCHECK_SECONDS = 3.0
RECENT_CHANGES = 200  # store changes kept to explain a difference
DIFF_LINES = 60  # of a unified diff in one report


class TreeSelfCheck:
    """Compares what `tree` shows with `fresh()` (the nodes of a build from the store alone).

    `settled()` says whether the widget had the chance to show the store as it is (no flush
    pending, the screen not covered); only then is a difference a bug. A difference is logged
    once (until it changes), as a diff of the lines plus the store changes that led there.
    """

    def __init__(self, tree: ResourceTree, fresh: Callable[[], Sequence[Node]], settled: Callable[[], bool],
                 recent: Callable[[], list[tuple[float, str, str, str, str]]], view: Callable[[], str]) -> None:
        self._tree = tree
        self._fresh = fresh
        self._settled = settled
        self._recent = recent
        self._view = view
        self._last_report = ""

    def check(self) -> str | None:
        """The report of a difference (also logged), or None when the widget is right."""
        if not self._settled():
            return None
        shown = self._tree.displayed_lines()
        expected = self._tree.lines_for(self._fresh())
        if shown == expected:
            self._last_report = ""
            return None
        diff = list(difflib.unified_diff(expected, shown, "fresh build", "widget", lineterm="", n=1))
        if len(diff) > DIFF_LINES:
            diff = diff[:DIFF_LINES] + [f"... {len(diff) - DIFF_LINES} more diff lines"]
        changes = [f"{datetime.fromtimestamp(at, UTC):%H:%M:%S.%f} {kind} {change} {name} rv={rv}"
                   for at, kind, change, name, rv in self._recent()]
        report = (f"tree self-check: the {self._view()} widget differs from a fresh build "
                  f"({len(shown)} lines shown, {len(expected)} expected)\n" + "\n".join(diff)
                  + f"\nlast {len(changes)} store changes, oldest first:\n" + "\n".join(changes))
        if "\n".join(diff) != self._last_report:
            self._last_report = "\n".join(diff)
            log.error("%s", report)
        return report
