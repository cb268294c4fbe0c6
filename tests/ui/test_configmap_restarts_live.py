"""Two quick ConfigMap edits against the real control plane: one offer, one rollout, the final data."""

from __future__ import annotations

import asyncio
import json

import pytest

from kdash.core.configmaps import data_hash, stamp_key
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.rollout_watch import RolloutWatchScreen
from tests.ui.pilot_helpers import live_app, until
from tests.ui.test_configmap_live import _consumer, _ready, _setup

pytestmark = pytest.mark.cluster


async def _get(kubectl, *args) -> dict:
    return json.loads(await asyncio.to_thread(kubectl, "get", *args, "-o", "json"))


async def _rollouts(kubectl, namespace: str, name: str) -> tuple[int, int, str | None]:
    """(generation, ReplicaSets, the ConfigMap stamp on the template) of a consumer, per kubectl."""
    deployment = await _get(kubectl, "deployment", name, "-n", namespace)
    replicasets = (await _get(kubectl, "rs", "-n", namespace, "-l", f"app={name}"))["items"]
    stamp = (deployment["spec"]["template"]["metadata"].get("annotations") or {}).get(stamp_key("mc-user-config"))
    return deployment["metadata"]["generation"], len(replicasets), stamp


async def _patch_twice(kubectl, namespace: str, gap: float) -> str:
    """Two data edits `gap` seconds apart; returns the final data's hash."""
    for level in ("debug", "warn"):
        await asyncio.to_thread(kubectl, "patch", "configmap", "mc-user-config", "-n", namespace,
                                "-p", json.dumps({"data": {"LOG_LEVEL": level}}))
        await asyncio.sleep(gap)
    return data_hash(await _get(kubectl, "configmap", "mc-user-config", "-n", namespace))


async def test_two_quick_edits_offer_once_and_roll_once_with_the_final_data(cluster, kubectl, namespace, tmp_path):
    await asyncio.to_thread(_setup, kubectl, namespace)
    before = await _rollouts(kubectl, namespace, "mc-user")
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await _ready(pilot, app, namespace)
        final = await _patch_twice(kubectl, namespace, gap=0.3)
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="the restart offer")
        await pilot.pause(1.0)  # both changes seen by the watch
        offers = [s for s in app.screen_stack if isinstance(s, ConfirmScreen)]
        assert len(offers) == 1, "one offer per ConfigMap, not one per edit"
        await pilot.press("y")
        await asyncio.to_thread(kubectl, "rollout", "status", "deployment/mc-user", "-n", namespace,
                                "--timeout=90s", timeout=100)
        # The restart opened its rollout watch: judged healthy, then closed.
        watch = await until(pilot, lambda: app.screen if isinstance(app.screen, RolloutWatchScreen) else None,
                            message="the rollout watch")
        await until(pilot, lambda: watch.session.verdict.state == "healthy", timeout=60, message="healthy")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), message="the watch closed")
        await pilot.pause(1.0)
        assert isinstance(app.screen, DashboardScreen), "nothing more may be offered"
        assert await _rollouts(kubectl, namespace, "mc-user") == (before[0] + 1, before[1] + 1, final)
        # The view agrees with the cluster: the consumer runs this data.
        await pilot.press("3")
        key = f"ConfigMap/{namespace}/mc-user-config/Deployment/{namespace}/mc-user"
        await until(pilot, lambda: (app.screen.tree.node(key) or None) and
                    app.screen.tree.node(key).columns["state"] == "current", message="consumer current")
    assert [(line["verb"], line["result"]) for line in app.audit.lines()] == [
        ("restart-for-configmap", "ok"), ("configmap-restart-staged", "ok")]


async def test_two_quick_edits_auto_restart_once_with_the_final_data(cluster, kubectl, namespace, tmp_path):
    auto = _consumer("auto-user", "mc-user-config", annotations={"reloader.stakater.com/auto": "true"})
    await asyncio.to_thread(_setup, kubectl, namespace, auto)
    await asyncio.to_thread(kubectl, "rollout", "status", "deployment/auto-user", "-n", namespace,
                            "--timeout=60s", timeout=70)
    before = await _rollouts(kubectl, namespace, "auto-user")
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await _ready(pilot, app, namespace)
        final = await _patch_twice(kubectl, namespace, gap=0.5)
        # The other consumer's offer is declined: only the opted-in one restarts.
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="the offer for mc-user")
        await pilot.press("escape")

        async def rolled() -> bool:
            return (await _rollouts(kubectl, namespace, "auto-user"))[2] is not None

        for _ in range(100):
            if await rolled():
                break
            await pilot.pause(0.2)
        await pilot.pause(3.0)  # past another settle window: a second restart would have come
        assert await _rollouts(kubectl, namespace, "auto-user") == (before[0] + 1, before[1] + 1, final)
    assert [(line["verb"], line["result"]) for line in app.audit.lines()] == [("restart-for-configmap", "ok")]
