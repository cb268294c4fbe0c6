"""What the rollout watch paints at 80x24: the verdict with its evidence, the undo key, events warnings first."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from textual.app import App
from textual.geometry import Region

from kdash.core.verdict import Criteria
from kdash.logs.rollout_watch import Change, RolloutWatch
from kdash.screens.rollout_watch import RolloutWatchScreen

FIXTURE = json.loads((Path(__file__).parents[1] / "unit" / "fixtures" / "rollout_watch.json").read_text())


class Store:
    """The fixture's objects, read like the app's store."""

    def __init__(self, pods: list[dict]) -> None:
        deployment = copy.deepcopy(FIXTURE["deployment"])
        deployment["status"]["observedGeneration"] = deployment["metadata"]["generation"] = 2
        self.objects = [deployment, *FIXTURE["replicasets"], *pods]

    def by_uid(self, uid: str):
        return next((o for o in self.objects if o["metadata"]["uid"] == uid), None)

    def owned_by(self, kind: str, owner: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind
                and any(r.get("uid") == owner for r in o["metadata"].get("ownerReferences") or ())]

    def get(self, kind: str, namespace, name: str):
        return next((o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name), None)


class Events:
    def events(self) -> list[dict]:
        return FIXTURE["events"]

    def stop(self) -> None:
        pass


def _painted(screen, widget_id: str) -> str:
    widget = screen.query_one(f"#{widget_id}")
    return "\n".join(s.text for s in widget.render_lines(Region(0, 0, *widget.outer_size))).rstrip()


async def _watch(pods: list[dict], criteria: Criteria) -> tuple[str, str, str]:
    clock = [1_796_619_749.0]  # 2026-12-07T05:02:29Z, just before the fixture's events
    session = RolloutWatch(Change("shop", "api", "d-1", "set image", "api: shop/api:1 → shop/api:2", 1, 1),
                           criteria, Store(pods), None, Events(), clock=lambda: clock[0])
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = RolloutWatchScreen(session)
        await app.push_screen(screen)
        await pilot.pause()
        clock[0] += 2
        screen.tick()
        await pilot.pause()
        return _painted(screen, "watch-verdict"), _painted(screen, "watch-events"), _painted(screen, "watch-progress")


async def test_a_crash_loop_paints_failed_with_the_pod_the_undo_key_and_warnings_first() -> None:
    verdict, events, progress = await _watch([FIXTURE["pods"]["ready"][0], FIXTURE["pods"]["crashloop"]],
                                             Criteria(max_restarts=1))
    lines = verdict.splitlines()
    assert lines[0].startswith(" failed: restarts: pod api-new2-c: 2 restarts (> 1), status")
    assert "u: undo to revision 1 (preview first)" in verdict
    assert "event BackOff on api-new2-c: Back-off restarting failed container api" in verdict
    assert events.splitlines()[0].startswith(" Warning BackOff pod/api-new2-c: Back-off restarting")
    assert "Normal  ScalingReplicaSet deployment/api" in events
    assert progress.startswith(" new api-new2 ↑ 2/2 ready · old ↓ 0 · revision 2")  # as the RS status says
    assert all(len(line) <= 80 for line in verdict.splitlines() + events.splitlines())


async def test_healthy_needs_the_hold_and_then_paints_its_evidence() -> None:
    verdict, _, _ = await _watch(FIXTURE["pods"]["ready"], Criteria(stable_for=5))
    assert verdict.startswith(" pending: all good for 2s of 5s")
    verdict, _, _ = await _watch(FIXTURE["pods"]["ready"], Criteria(stable_for=0))
    assert verdict.startswith(" healthy: 2/2 new pods ready; observedGeneration 2 current")
    assert "undo" not in verdict
