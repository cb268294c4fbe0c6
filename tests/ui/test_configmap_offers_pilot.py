"""Quick successive ConfigMap edits: one restart offer, one auto-restart, the newest data (fixture app
with a fake API behind the writes)."""

from __future__ import annotations

import copy
import time

from kdash.actions.safety import AuditLog
from kdash.core.configmaps import data_hash
from kdash.core.kinds import KINDS_BY_NAME
from kdash.kube.objects import slim
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.flows import restart_consumers
from kdash.screens.rollout_watch import RolloutWatchScreen
from tests.ui.fixture_app import fixture_app
from tests.ui.pilot_helpers import until
from tests.unit.test_actions_reload import FakeCluster, configmap, consumer

STAMP_ANNOTATIONS = {"reloader.stakater.com/auto": "true"}


def put(app, kind: str, obj: dict) -> None:
    app.store.upsert(kind, slim(copy.deepcopy(obj), KINDS_BY_NAME[kind]))


def edit(app, cluster: FakeCluster, level: str) -> None:
    """The ConfigMap's data changes on the server and its watch event arrives."""
    cluster.configmap = configmap(level)
    put(app, "ConfigMap", cluster.configmap)
    app._check_configmap_changes()


async def start(pilot, app, cluster: FakeCluster, tmp_path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    app.audit = AuditLog(tmp_path / "app-audit.log")  # records written by the app itself (a watch's), not the user's
    app.writable = lambda action, kind=None: True
    app.write_context = lambda confirmed=None: cluster.context(audit)
    await pilot.pause()
    put(app, "ConfigMap", cluster.configmap)
    for deployment in cluster.deployments.values():
        put(app, "Deployment", deployment)
    app._check_configmap_changes()  # first sighting: recorded, nothing offered
    await pilot.pause()


def offers(app) -> list[ConfirmScreen]:
    return [s for s in app.screen_stack if isinstance(s, ConfirmScreen)]


async def test_two_quick_edits_make_one_offer_that_stamps_the_newest_data(tmp_path):
    cluster = FakeCluster(consumer("web-user"))
    app = fixture_app()
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, cluster, tmp_path)
        edit(app, cluster, "debug")
        await pilot.pause()
        edit(app, cluster, "warn")
        await pilot.pause()
        (offer,) = offers(app)  # not two stacked prompts
        assert "changed 2 times" in offer._title and "web-user" in offer._title
        assert "changed 2 times" in str(offer.query_one("#title").render())
        await pilot.press("y")
        await until(pilot, lambda: cluster.rest.writes(), message="the restart")
        # The restart opens its rollout watch; closing it comes back to the dashboard.
        await until(pilot, lambda: isinstance(app.screen, RolloutWatchScreen), message="the rollout watch")
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert cluster.stamps() == [data_hash(configmap("warn"))]
        assert cluster.deployments["web-user"]["metadata"]["generation"] == 2
        # The view agrees: the consumer runs this data (not "restart pending: runs older data").
        put(app, "Deployment", cluster.deployments["web-user"])
        await pilot.press("3")
        await pilot.pause()
        node = app.screen.tree.node("ConfigMap/default/web-config/Deployment/default/web-user")
        assert node.columns["state"] == "current"


async def test_two_quick_edits_auto_restart_once_with_the_final_data(tmp_path, monkeypatch):
    monkeypatch.setattr(restart_consumers, "AUTO_RESTART_SETTLE_SECONDS", 0.5)
    cluster = FakeCluster(consumer("auto-user", **STAMP_ANNOTATIONS))
    app = fixture_app()
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, cluster, tmp_path)
        edit(app, cluster, "debug")
        await pilot.pause(0.2)
        edit(app, cluster, "warn")
        started = time.monotonic()
        await until(pilot, lambda: cluster.rest.writes(), timeout=5, message="the auto-restart")
        await pilot.pause(1.0)  # time for a second restart, if there were one
        assert time.monotonic() - started >= 0.4, "restarted before the data settled"
        assert cluster.stamps() == [data_hash(configmap("warn"))]
        assert offers(app) == []  # opted in: nothing asked
