"""What a staged ConfigMap restart shows and sends (fixture app with a fake API behind the writes):
the stage view on the watch, one write per stage, and closing the watch stops the run."""

from __future__ import annotations

from textual.geometry import Region

from kdash.core.configmaps import data_hash
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.rollout_watch import RolloutWatchScreen
from tests.ui.fixture_app import fixture_app
from tests.ui.pilot_helpers import until
from tests.ui.test_configmap_offers_pilot import edit, put, start
from tests.unit.test_actions_reload import FakeCluster, configmap, consumer


def _painted(screen, widget_id: str) -> str:
    widget = screen.query_one(f"#{widget_id}")
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size))).rstrip()


async def test_two_consumers_restart_one_at_a_time_and_closing_the_watch_stops_the_run(tmp_path):
    cluster = FakeCluster(consumer("api"), consumer("web"))
    app = fixture_app()
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, cluster, tmp_path)
        edit(app, cluster, "debug")
        confirm = await until(pilot, lambda: app.screen if isinstance(app.screen, ConfirmScreen) else None,
                              message="the offer")
        assert "In stages: api, then web." in str(confirm._detail)
        await pilot.pause()
        await pilot.press("y")
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, RolloutWatchScreen) else None,
                             message="the first stage's watch")
        # Only the first consumer was restarted; the second waits for the first one's verdict.
        assert [r["path"].rsplit("/", 1)[1] for r in cluster.rest.writes()] == ["api"]
        assert screen.session.change.name == "api"
        assert "stage 1/2" in screen.session.change.detail
        # Neither consumer's pods carry the new data's stamp yet (the store has none of the new ones).
        put(app, "Pod", _pod("api-1", "api"))
        put(app, "ReplicaSet", _replicaset("api"))
        shown = await until(pilot, lambda: (lambda t: t if "old data" in t else None)(_painted(screen, "watch-stages")),
                            timeout=5, message="the painted stage view")
        assert "staged restart of ConfigMap default/web-config" in shown
        assert "1/2 api: watching" in shown and "2/2 web: waiting" in shown
        assert "old data: api 1 pod" in shown
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), message="back on the dashboard")
        await pilot.pause(0.3)
    assert [r["path"].rsplit("/", 1)[1] for r in cluster.rest.writes()] == ["api"], "web must not be restarted"
    assert cluster.stamps() == [data_hash(configmap("debug"))]
    # The write's own line goes where the (fake) write context audits; the run's record to the app's log.
    assert [line["verb"] for line in app.write_context().audit.lines()] == ["restart-for-configmap"]
    (line,) = [line for line in app.audit.lines() if line["verb"] == "configmap-restart-staged"]
    assert line["result"] == "error" and line["object"] == "ConfigMap/default/web-config"
    record = line["transaction"]
    assert record["outcome"] == "stopped" and record["stopped"] == "the watch was closed"
    assert [(s["deployment"], s["state"]) for s in record["stages"]] == [("api", "unjudged"),
                                                                          ("web", "not restarted")]
    assert [w["deployment"] for w in record["watches"]] == ["default/api"]


def _replicaset(owner: str) -> dict:
    return {"metadata": {"name": f"{owner}-old", "namespace": "default", "uid": f"{owner}-rs-uid",
                         "ownerReferences": [{"uid": f"{owner}-uid", "controller": True, "kind": "Deployment",
                                              "name": owner}]},
            "spec": {"replicas": 1}, "status": {"replicas": 1}}


def _pod(name: str, owner: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"{name}-uid",
                         "ownerReferences": [{"uid": f"{owner}-rs-uid", "controller": True, "kind": "ReplicaSet",
                                              "name": f"{owner}-old"}]},
            "spec": {"containers": [{"name": "main", "image": "nginx"}]},
            "status": {"phase": "Running"}}
