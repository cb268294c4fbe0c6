"""A ConfigMap's consumers restarted in stages on the real control plane: a bad value crashes the first
consumer's new pods (the fake kubelet reads KDASH_FAKE_MODE from the ConfigMap at pod start), so the
run stops and the second consumer keeps its pods; good data restarts both, in order, each healthy."""

from __future__ import annotations

import asyncio
import json

import pytest

from kdash.actions.audit import verify_file
from kdash.core.configmaps import data_hash, stamp_key
from kdash.screens.apply_preview import ApplyPreviewScreen
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.rollout_watch import RolloutWatchScreen
from tests.ui.pilot_helpers import live_app, until
from tests.ui.test_rollout_watch_live import _settings, _shown

pytestmark = pytest.mark.cluster

CM = "shared-config"
STAMP = stamp_key(CM)


def _consumer(name: str, replicas: int, env: list[dict], image: str = "nginx:1.14.2") -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "main", "image": image, "env": env}]}}}}


def _setup(kubectl, namespace: str) -> None:
    # "front" (1 replica, restarted first) crashes when MODE says so; "back" only reads LEVEL.
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CM},
              "data": {"MODE": "normal", "LEVEL": "info"}},
             _consumer("front", 1, [{"name": "KDASH_FAKE_MODE",
                                     "valueFrom": {"configMapKeyRef": {"name": CM, "key": "MODE"}}}]),
             _consumer("back", 2, [{"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": CM, "key": "LEVEL"}}}])]
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    for name in ("front", "back"):
        kubectl("rollout", "status", f"deployment/{name}", "-n", namespace, "--timeout=60s", timeout=70)


async def _get(kubectl, *args) -> dict:
    return json.loads(await asyncio.to_thread(kubectl, "get", *args, "-o", "json"))


async def _state(kubectl, namespace: str, name: str) -> tuple[int, str | None, list[str]]:
    """(generation, the template's stamp, live pod names) of a consumer, per kubectl."""
    deployment = await _get(kubectl, "deployment", name, "-n", namespace)
    pods = (await _get(kubectl, "pods", "-n", namespace, "-l", f"app={name}"))["items"]
    return (deployment["metadata"]["generation"],
            (deployment["spec"]["template"]["metadata"].get("annotations") or {}).get(STAMP),
            sorted(p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")))


async def _change_data(pilot, app, kubectl, namespace: str, data: dict) -> str:
    await until(pilot, lambda: app.watch_health() == "live" and app.store.get("ConfigMap", namespace, CM)
                and app.store.get("Deployment", namespace, "back"), message="initial lists")
    await pilot.pause(0.3)
    await asyncio.to_thread(kubectl, "patch", "configmap", CM, "-n", namespace, "-p", json.dumps({"data": data}))
    confirm = await until(pilot, lambda: app.screen if isinstance(app.screen, ConfirmScreen) else None,
                          message="the restart offer")
    assert "In stages: front, then back." in str(confirm._detail)
    await pilot.pause()
    await pilot.press("y")
    return data_hash(await _get(kubectl, "configmap", CM, "-n", namespace))


async def _watch_of(pilot, app, name: str) -> RolloutWatchScreen:
    return await until(pilot, lambda: app.screen if isinstance(app.screen, RolloutWatchScreen)
                       and app.screen.session.change.name == name else None, timeout=60, message=f"{name}'s watch")


async def _verdict(pilot, screen: RolloutWatchScreen):
    return await until(pilot, lambda: screen.session.verdict if screen.session.verdict.done else None,
                       timeout=90, message="a verdict")


def _words(screen: RolloutWatchScreen) -> str:
    """The painted stage view, its lines joined (long namespaces wrap)."""
    return " ".join(_shown(screen, "watch-stages").split())


def _record(app) -> dict:
    (line,) = [line for line in app.audit.lines() if line["verb"] == "configmap-restart-staged"]
    return line


async def test_a_crashing_first_stage_stops_the_run_and_the_second_consumer_keeps_its_pods(
        cluster, kubectl, namespace, tmp_path):
    await asyncio.to_thread(_setup, kubectl, namespace)
    back_before = await _state(kubectl, namespace, "back")
    app = live_app(cluster, namespace, tmp_path, settings=_settings(max_restarts=1))
    async with app.run_test(size=(110, 36)) as pilot:
        digest = await _change_data(pilot, app, kubectl, namespace, {"MODE": "crash"})
        screen = await _watch_of(pilot, app, "front")
        verdict = await _verdict(pilot, screen)
        assert (verdict.state, verdict.criterion) == ("failed", "restarts")
        shown = await until(pilot, lambda: (lambda t: t if "not restarted" in t else None)(
            _words(screen)), timeout=5, message="the painted stage view")
        assert "stopped: front failed" in shown
        assert "1/2 front: failed — restarts" in shown
        assert "2/2 back: not restarted — front failed" in shown
        # front's old pod stays (its new one never got ready); back was never restarted.
        assert "old data: front 1 pod, back 2 pods" in shown
        await pilot.pause(3.0)  # time enough for a second stage, were one to start
        assert app.screen is screen
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), message="back on the dashboard")
    # kubectl: the second consumer was not touched: same generation, no stamp, the same pods.
    assert await _state(kubectl, namespace, "back") == back_before
    front = await _state(kubectl, namespace, "front")
    assert front[:2] == (2, digest)
    assert [(line["verb"], line["object"].rsplit("/", 1)[1]) for line in app.audit.lines()] == [
        ("restart-for-configmap", "front"), ("configmap-restart-staged", CM)]
    record = _record(app)
    assert record["result"] == "error"
    transaction = record["transaction"]
    assert transaction["outcome"] == "failed" and transaction["stopped"] == "front failed"
    assert [(s["deployment"], s["state"]) for s in transaction["stages"]] == [("front", "failed"),
                                                                              ("back", "not restarted")]
    (watch,) = transaction["watches"]
    assert watch["phases"][0]["verdict"] == "failed" and watch["phases"][0]["criterion"] == "restarts"
    assert verify_file(tmp_path / "audit.log").intact


async def test_good_data_restarts_both_consumers_in_order_each_healthy(cluster, kubectl, namespace, tmp_path):
    await asyncio.to_thread(_setup, kubectl, namespace)
    before = {name: await _state(kubectl, namespace, name) for name in ("front", "back")}
    app = live_app(cluster, namespace, tmp_path, settings=_settings())
    async with app.run_test(size=(110, 36)) as pilot:
        digest = await _change_data(pilot, app, kubectl, namespace, {"LEVEL": "debug"})
        first = await _watch_of(pilot, app, "front")
        assert (await _verdict(pilot, first)).state == "healthy"
        second = await _watch_of(pilot, app, "back")
        # The first consumer's new pods ended healthy before the second one was touched.
        assert first.session.phase.verdict_at <= second.session.phase.started
        assert (await _verdict(pilot, second)).state == "healthy"
        shown = await until(pilot, lambda: (lambda t: t if "2/2 back: healthy" in t else None)(
            _words(second)), timeout=5, message="the painted stage view")
        assert "1/2 front: healthy" in shown
        await until(pilot, lambda: "every consumer's pods run the current data" in _words(second),
                    timeout=60, message="the old pods gone")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), message="back on the dashboard")
    for name in ("front", "back"):
        generation, stamp, pods = await _state(kubectl, namespace, name)
        assert (generation, stamp) == (before[name][0] + 1, digest)
        assert not set(pods) & set(before[name][2])
        for pod in pods:
            assert (await _get(kubectl, "pod", pod, "-n", namespace))["metadata"]["annotations"][STAMP] == digest
    assert [(line["verb"], line["object"].rsplit("/", 1)[1]) for line in app.audit.lines()] == [
        ("restart-for-configmap", "front"), ("restart-for-configmap", "back"), ("configmap-restart-staged", CM)]
    record = _record(app)
    assert record["result"] == "ok" and record["transaction"]["outcome"] == "healthy"
    assert [(s["deployment"], s["state"]) for s in record["transaction"]["stages"]] == [("front", "healthy"),
                                                                                       ("back", "healthy")]
    assert [w["deployment"].split("/")[1] for w in record["transaction"]["watches"]] == ["front", "back"]


async def test_applying_a_changed_deployment_opens_its_rollout_watch(cluster, kubectl, namespace, tmp_path):
    await asyncio.to_thread(_setup, kubectl, namespace)
    manifest = _consumer("back", 2, [{"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": CM, "key": "LEVEL"}}}],
                         image="nginx:1.15.0")
    path = tmp_path / "back.yaml"
    path.write_text(json.dumps(manifest))
    app = live_app(cluster, namespace, tmp_path, settings=_settings())
    async with app.run_test(size=(110, 36)) as pilot:
        await until(pilot, lambda: app.connection is not None and app.store.get("Deployment", namespace, "back"),
                    message="the lists")
        await pilot.press("a")
        app.screen.query_one("Input").value = str(path)
        await pilot.press("enter")
        preview = await until(pilot, lambda: isinstance(app.screen, ApplyPreviewScreen) and app.screen,
                              message="apply preview")
        # `kubectl apply` owns the image: server-side apply reports the conflict; take it over.
        assert preview.plan.items[0].conflict, preview.plan.items[0].message
        await pilot.click("#force")
        preview = await until(pilot, lambda: isinstance(app.screen, ApplyPreviewScreen)
                              and app.screen is not preview and app.screen, message="forced preview")
        assert [i.status for i in preview.plan.items] == ["changed"]
        await pilot.click("#apply")
        screen = await _watch_of(pilot, app, "back")
        assert screen.session.change.verb == "apply" and str(path) in screen.session.change.detail
        assert (await _verdict(pilot, screen)).state == "healthy"
        await pilot.press("escape")
    rs = (await _get(kubectl, "rs", "-n", namespace, "-l", "app=back"))["items"]
    new = next(r for r in rs if r["metadata"]["name"] == screen.session.phase.new_rs)
    assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.15.0"
    assert [line["verb"] for line in app.audit.lines() if not line["dry_run"]] == ["apply", "rollout-watch"]
