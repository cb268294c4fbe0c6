"""The rollout strip gives its rows to rollouts in progress first, then failing or stuck ones,
then finished ones (issue 20, item 4)."""

from __future__ import annotations

import dataclasses

from rich.style import Style
from textual.app import App, ComposeResult
from textual.geometry import Region

from kdash.core.rollout import rollout_status
from kdash.widgets.rollout_progress import RolloutProgress
from tests.unit.render_fixtures import by_name, items


class StripApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RolloutProgress(id="rollouts")


def painted(widget) -> str:
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, *widget.size)))


async def test_the_rollout_in_progress_gets_a_row_before_finished_and_stuck_ones():
    base = rollout_status(by_name("deployments", "web"), items("replicasets"))
    assert base.state == "progressing"
    others = [dataclasses.replace(base, name=f"a-{state}-{i}", state=state)
              for i, state in enumerate(("complete", "failed", "complete", "paused", "failed"))]
    rolling = dataclasses.replace(base, name="z-rolling")
    app = StripApp()
    async with app.run_test(size=(120, 10)) as pilot:
        strip = app.query_one(RolloutProgress)
        strip.show(others + [rolling], lambda health: Style())
        await pilot.pause()
        text = painted(strip)
        rows = [line for line in text.splitlines() if "default/" in line]
        assert "z-rolling" in rows[0], text
        assert all("failed" in row or "paused" in row for row in rows[1:]), text
        assert "+3 more" in text and "more rolling" not in text  # not all of them are rolling
