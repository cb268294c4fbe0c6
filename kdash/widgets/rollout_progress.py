"""A strip of progress bars for rollouts that are running, failed, or were just triggered from kdash."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from kdash.core.rollout import RolloutStatus

MAX_ROWS = 3
# The rows go first to rollouts in progress, then to failing or stuck ones, then to finished ones.
STRIP_RANK = {"progressing": 0, "failed": 1, "paused": 1}
STATE_HEALTH = {"complete": "ok", "progressing": "progressing", "failed": "error", "paused": "warning",
                "scaled-to-zero": "none"}


class RolloutProgress(Static):
    """Shows one bar per rollout (old RS ↓, new RS ↑); hidden when nothing is rolling."""

    DEFAULT_CSS = """
    RolloutProgress { height: auto; max-height: 4; padding: 0 1; background: $surface; }
    RolloutProgress.empty { display: none; }
    """

    _shown: tuple | None = None

    def show(self, statuses: Sequence[RolloutStatus], style_for: Callable[[str], Style]) -> None:
        statuses = sorted(statuses, key=strip_order)
        # Called on every Deployment/ReplicaSet change: skip the table (and layout) if nothing shown moved.
        shown = (tuple(statuses[:MAX_ROWS]), len(statuses),
                 tuple(style_for(STATE_HEALTH.get(_shown_state(s), "none")) for s in statuses[:MAX_ROWS]))
        if shown == self._shown:
            return
        self._shown = shown
        if not statuses:
            self.add_class("empty")
            self.update("")
            return
        self.remove_class("empty")
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True, max_width=28)
        table.add_column(width=16, no_wrap=True)
        table.add_column(no_wrap=True, ratio=1, overflow="ellipsis")
        for status in statuses[:MAX_ROWS]:
            style = style_for(STATE_HEALTH.get(_shown_state(status), "none"))
            bar = ProgressBar(total=1.0, completed=status.progress, width=16,
                              complete_style=style, finished_style=style)
            detail = status.summary if status.state != "failed" else f"FAILED: {status.message}"
            if status.paused and _shown_state(status) == "paused" and status.state != "paused":
                detail = f"PAUSED · {detail}"
            table.add_row(Text(f"{status.namespace}/{status.name}", style=style), bar,
                          Text(f"{status.ready}/{status.desired} ready  {detail}", style=style))
        parts: list = [table]
        if len(statuses) > MAX_ROWS:
            parts.append(Text(f"+{len(statuses) - MAX_ROWS} more", style="dim"))
        self.update(Group(*parts))


def strip_order(status: RolloutStatus) -> tuple[int, str, str]:
    return STRIP_RANK.get(_shown_state(status), len(STRIP_RANK)), status.namespace, status.name


def _shown_state(status: RolloutStatus) -> str:
    """A paused Deployment shows as paused also once its last rollout is done (a failure still wins)."""
    return "paused" if status.paused and status.state != "failed" else status.state
