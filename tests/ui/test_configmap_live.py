"""ConfigMap-triggered restarts against the real control plane, driven through the app."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from kdash.core.configmaps import data_hash, stamp_key
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from tests.ui.pilot_helpers import live_app, until

pytestmark = pytest.mark.cluster


def _consumer(name: str, configmap: str, *, projected: bool = False, annotations: dict | None = None) -> dict:
    labels = {"app": name}
    spec: dict = {"containers": [{"name": "main", "image": "nginx:1.14.2"}]}
    if projected:
        spec["volumes"] = [{"name": "cfg", "projected": {"sources": [{"configMap": {"name": configmap}}]}}]
    else:
        spec["containers"][0]["envFrom"] = [{"configMapRef": {"name": configmap}}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels, "annotations": annotations or {}},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def _setup(kubectl, namespace: str, *extra: dict) -> None:
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mc-user-config"},
              "data": {"LOG_LEVEL": "info"}},
             _consumer("mc-user", "mc-user-config"), _consumer("bystander", "other-config"), *extra]
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    kubectl("rollout", "status", "deployment/mc-user", "-n", namespace, "--timeout=60s", timeout=70)


def _app(cluster, namespace, tmp_path, **overrides):
    return live_app(cluster, namespace, tmp_path, **overrides)


def _deployment(kubectl, namespace: str, name: str) -> dict:
    return json.loads(kubectl("get", "deployment", name, "-n", namespace, "-o", "json"))


async def _ready(pilot, app, namespace):
    await until(pilot, lambda: app.watch_health() == "live"
                 and app.store.get("ConfigMap", namespace, "mc-user-config") is not None
                 and app.store.get("Deployment", namespace, "mc-user") is not None, message="initial lists")
    await pilot.pause(0.3)


async def test_data_change_offers_restart_of_the_consumer_only(cluster, kubectl, namespace, tmp_path):
    await asyncio.to_thread(_setup, kubectl, namespace)
    app = _app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await _ready(pilot, app, namespace)
        assert isinstance(app.screen, DashboardScreen), "nothing may be offered at start-up"
        # A metadata-only change is not a data change.
        await asyncio.to_thread(kubectl, "label", "configmap", "mc-user-config", "touched=yes", "-n", namespace)
        await pilot.pause(1.0)
        assert isinstance(app.screen, DashboardScreen), "a label change must not offer a restart"
        await asyncio.to_thread(kubectl, "patch", "configmap", "mc-user-config", "-n", namespace,
                                "-p", '{"data":{"LOG_LEVEL":"debug"}}')
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                               message="the restart offer")
        assert "mc-user uses this ConfigMap — restart?" in confirm._title
        assert "bystander" not in confirm._title
        await pilot.press("y")
        cm = json.loads(await asyncio.to_thread(kubectl, "get", "configmap", "mc-user-config", "-n", namespace,
                                                "-o", "json"))
        want = data_hash(cm)
        await asyncio.to_thread(kubectl, "rollout", "status", "deployment/mc-user", "-n", namespace,
                                "--timeout=90s", timeout=100)
        deployment = await asyncio.to_thread(_deployment, kubectl, namespace, "mc-user")
        assert deployment["spec"]["template"]["metadata"]["annotations"][stamp_key("mc-user-config")] == want
        pods = json.loads(await asyncio.to_thread(kubectl, "get", "pods", "-n", namespace, "-l", "app=mc-user",
                                                  "-o", "json"))["items"]
        assert pods and all(p["metadata"]["annotations"].get(stamp_key("mc-user-config")) == want
                            for p in pods if not p["metadata"].get("deletionTimestamp"))
        bystander = await asyncio.to_thread(_deployment, kubectl, namespace, "bystander")
        assert bystander["metadata"]["generation"] == 1
        assert [line["verb"] for line in app.audit.lines()] == ["restart-for-configmap"]

    # kdash restarted, data unchanged since: no offer, no restart.
    app2 = _app(cluster, namespace, tmp_path)
    async with app2.run_test(size=(110, 32)) as pilot:
        await _ready(pilot, app2, namespace)
        await pilot.pause(1.0)
        assert isinstance(app2.screen, DashboardScreen)
        # `R` on it now: every consumer already runs this data, so nothing is asked.
        await pilot.press("3")
        await until(pilot, lambda: app2.screen.tree.node(f"ConfigMap/{namespace}/mc-user-config"),
                     message="configmap view")
        node = app2.screen.tree.node(f"ConfigMap/{namespace}/mc-user-config/Deployment/{namespace}/mc-user")
        assert node is not None and node.columns["state"] == "current"
        assert app2.screen.tree.select_key(f"ConfigMap/{namespace}/mc-user-config")
        await pilot.press("R")
        await pilot.pause(0.5)
        assert isinstance(app2.screen, DashboardScreen)
    after = await asyncio.to_thread(_deployment, kubectl, namespace, "mc-user")
    assert after["metadata"]["generation"] == deployment["metadata"]["generation"]


async def test_opted_in_consumer_restarts_automatically(cluster, kubectl, namespace, tmp_path):
    auto = _consumer("auto-user", "mc-user-config", projected=True,
                     annotations={"reloader.stakater.com/auto": "true"})
    await asyncio.to_thread(_setup, kubectl, namespace, auto)
    app = _app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await _ready(pilot, app, namespace)
        await pilot.press("3")
        cm_key = f"ConfigMap/{namespace}/mc-user-config"
        await until(pilot, lambda: app.screen.tree.node(cm_key), message="configmap view")
        # The projected-volume consumer is detected beside the envFrom one.
        users = {c.name: c.columns["how"] for c in app.screen.tree.node(cm_key).children}
        assert users == {"auto-user": "projected volume cfg", "mc-user": "envFrom"}
        await asyncio.to_thread(kubectl, "patch", "configmap", "mc-user-config", "-n", namespace,
                                "-p", '{"data":{"LOG_LEVEL":"warn"}}')
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                               message="the offer for the other consumer")
        assert "mc-user uses" in confirm._title
        await pilot.press("escape")  # decline: only the opted-in one restarts

        def stamped(name):
            d = _deployment(kubectl, namespace, name)
            return (d["spec"]["template"]["metadata"].get("annotations") or {}).get(stamp_key("mc-user-config"))

        deadline = time.monotonic() + 30
        while not await asyncio.to_thread(stamped, "auto-user"):
            assert time.monotonic() < deadline, "auto-user was not restarted"
            await pilot.pause(0.2)
        assert await asyncio.to_thread(stamped, "mc-user") is None
