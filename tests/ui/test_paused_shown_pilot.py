"""A paused Deployment says so on the tree and on the rollout strip, also once its rollout is done."""

from __future__ import annotations

import copy

from rich.style import Style
from textual.app import App, ComposeResult
from textual.geometry import Region

from kdash.core.rollout import RolloutIndex, rollout_status
from kdash.render.workloads import build_workload_tree
from kdash.widgets.rollout_progress import RolloutProgress
from tests.unit.render_fixtures import NOW, by_name, items


class StripApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RolloutProgress(id="rollouts")


def _paused_complete() -> dict:
    deployment = copy.deepcopy(next(d for d in items("deployments")
                                    if rollout_status(d, items("replicasets")).state == "complete"))
    deployment["spec"]["paused"] = True
    return deployment


def test_tree_label_says_paused_when_done() -> None:
    deployment = _paused_complete()
    assert rollout_status(deployment, items("replicasets")).state == "complete"
    node = next(n for n in build_workload_tree([deployment], items("replicasets"), items("pods"), NOW)
                if n.kind == "Deployment")
    assert node.label.endswith("  paused"), node.label
    unpaused = next(n for n in build_workload_tree([by_name("deployments", deployment["metadata"]["name"])],
                                                   items("replicasets"), items("pods"), NOW) if n.kind == "Deployment")
    assert "paused" not in unpaused.label


async def test_strip_shows_a_paused_deployment_whose_rollout_is_done() -> None:
    index = RolloutIndex()
    deployment = _paused_complete()
    index.update([deployment], items("replicasets"))
    assert list(index.active.values())[0].paused
    app = StripApp()
    async with app.run_test(size=(120, 6)) as pilot:
        strip = app.query_one(RolloutProgress)
        strip.show(list(index.active.values()), lambda health: Style())
        await pilot.pause()
        text = "\n".join(s.text for s in strip.render_lines(Region(0, 0, *strip.size)))
        assert f"{deployment['metadata']['namespace']}/{deployment['metadata']['name']}" in text
        assert "PAUSED · complete:" in text, text
