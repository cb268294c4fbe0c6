"""Undo against the real control plane: the revision confirmed is the one written, whatever the
cluster does between highlight, confirmation and write."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from kdash.actions import rollout as rollout_action
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.history import HistoryScreen
from tests.ui.pilot_helpers import live_app, until
from tests.ui.test_history_pilot import shown_revision

pytestmark = pytest.mark.cluster

IMAGES = {1: "nginx:1.14.2", 2: "nginx:1.15.0", 3: "nginx:1.16.0"}


async def _kubectl(kubectl, *args, **kwargs):
    return await asyncio.to_thread(kubectl, *args, **kwargs)


async def _deployment(kubectl, namespace: str) -> dict:
    return json.loads(await _kubectl(kubectl, "get", "deployment", "web", "-n", namespace, "-o", "json"))


async def _replicaset_of(kubectl, namespace: str, revision: int) -> str:
    items = json.loads(await _kubectl(kubectl, "get", "rs", "-n", namespace, "-l", "app=web", "-o", "json"))["items"]
    return next(rs["metadata"]["name"] for rs in items
                if rs["metadata"]["annotations"].get("deployment.kubernetes.io/revision") == str(revision))


async def _rollout(kubectl, namespace: str, revision: int) -> None:
    """Roll web to IMAGES[revision] (creating it on revision 1) and wait until it is complete."""
    if revision == 1:
        labels = {"app": "web"}
        manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": labels},
                    "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                             "template": {"metadata": {"labels": labels},
                                          "spec": {"containers": [{"name": "main", "image": IMAGES[1]}]}}}}
        await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    else:
        await _kubectl(kubectl, "set", "image", "deployment/web", f"main={IMAGES[revision]}", "-n", namespace)
    await _kubectl(kubectl, "rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)


async def _image(kubectl, namespace: str) -> str:
    return (await _deployment(kubectl, namespace))["spec"]["template"]["spec"]["containers"][0]["image"]


async def _open_history(pilot, app, namespace: str, revisions: list[int]) -> HistoryScreen:
    key = f"Deployment/{namespace}/web"
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.tree.node(key), message=key)
    assert app.screen.tree.select_key(key)
    await pilot.press("u")
    history = await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen, message="history")
    await until(pilot, lambda: [r.revision for r in history.revisions] == revisions, message=f"revisions {revisions}")
    return history


def _messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_target_stays_put_while_a_new_rollout_lands(cluster, kubectl, namespace, tmp_path):
    await _rollout(kubectl, namespace, 1)
    await _rollout(kubectl, namespace, 2)
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        history = await _open_history(pilot, app, namespace, [2, 1])
        await pilot.press("down")
        await pilot.pause()
        assert shown_revision(history) == 1
        await _rollout(kubectl, namespace, 3)  # a new row on top: every row shifts down
        await until(pilot, lambda: [r.revision for r in history.revisions] == [3, 2, 1], message="revision 3")
        await pilot.pause(1.2)  # at least one more refresh
        assert shown_revision(history) == 1
        await pilot.press("enter")
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                              message="undo confirmation")
        assert f"to revision 1 ({IMAGES[1]})?" in confirm._title
        assert f"now on revision 3: {IMAGES[3]}" in confirm._detail
        await pilot.press("y")
        await until(pilot, lambda: any(m.startswith("rolled") for m in _messages(app)), message="the undo")
        assert await _image(kubectl, namespace) == IMAGES[1]


async def test_a_deleted_revision_is_never_replaced_by_a_neighbour(cluster, kubectl, namespace, tmp_path):
    for revision in (1, 2, 3):
        await _rollout(kubectl, namespace, revision)
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        history = await _open_history(pilot, app, namespace, [3, 2, 1])
        # Deleted between highlight and enter: nothing is selected, and enter asks nothing.
        await pilot.press("end")
        await pilot.pause()
        assert shown_revision(history) == 1
        await _kubectl(kubectl, "delete", "rs", await _replicaset_of(kubectl, namespace, 1), "-n", namespace)
        await until(pilot, lambda: [r.revision for r in history.revisions] == [3, 2], message="revision 1 gone")
        await pilot.pause(1.2)  # at least one more refresh
        assert shown_revision(history) is None
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.screen is history
        # Deleted between confirmation and write: refused at write time, nothing changed.
        await pilot.press("down", "down")
        await pilot.pause()
        assert shown_revision(history) == 2
        await pilot.press("enter")
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                              message="undo confirmation")
        assert f"to revision 2 ({IMAGES[2]})?" in confirm._title
        await _kubectl(kubectl, "delete", "rs", await _replicaset_of(kubectl, namespace, 2), "-n", namespace)
        await pilot.press("y")
        await until(pilot, lambda: any("revision 2" in m and "no longer exists" in m for m in _messages(app)),
                    message="the refusal")
        deployment = await _deployment(kubectl, namespace)
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGES[3]
        assert [(line["verb"], line["result"]) for line in app.audit.lines()] == [("undo", "error")]


async def test_two_quick_undos_never_target_a_consumed_revision(cluster, kubectl, namespace, tmp_path, monkeypatch):
    await _rollout(kubectl, namespace, 1)
    await _rollout(kubectl, namespace, 2)
    real_undo = rollout_action.undo

    def slow_undo(*args, **kwargs):
        # A slow API server: the second U comes while the first undo is still on the wire.
        time.sleep(1.0)
        return real_undo(*args, **kwargs)

    monkeypatch.setattr(rollout_action, "undo", slow_undo)
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        key = f"Deployment/{namespace}/web"
        await until(pilot, lambda: app.screen.tree.node(key) and len(app.store.owned_by(
            "ReplicaSet", app.store.get("Deployment", namespace, "web")["metadata"]["uid"])) == 2, message="web")
        assert app.screen.tree.select_key(key)
        await pilot.press("U")
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, message="undo 1")
        assert f"to revision 1 ({IMAGES[1]})?" in confirm._title
        await pilot.press("y", "U")  # the second before the first has landed
        await pilot.pause(0.2)
        assert isinstance(app.screen, DashboardScreen), "the second undo must wait for the first"
        assert any("still being applied" in m for m in _messages(app))
        await until(pilot, lambda: any(m.startswith("rolled") for m in _messages(app)), message="the first undo")
        # Once the controller has renumbered (revision 1 became 3), U goes back from fresh state.
        await until(pilot, lambda: app.screen.tree.node(key) and "rev 3" in app.screen.tree.node(key).label,
                    message="revision 3 in the tree")
        await pilot.press("U")
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, message="undo 2")
        assert f"to revision 2 ({IMAGES[2]})?" in confirm._title
        await pilot.press("y")
        await until(pilot, lambda: sum(m.startswith("rolled") for m in _messages(app)) == 2, message="undo 2")
        assert await _image(kubectl, namespace) == IMAGES[2]
        assert not any("not found" in m for m in _messages(app))
        assert [(line["verb"], line["result"]) for line in app.audit.lines()] == [("undo", "ok"), ("undo", "ok")]


async def test_undo_of_a_paused_deployment_is_refused_before_confirming(cluster, kubectl, namespace, tmp_path):
    await _rollout(kubectl, namespace, 1)
    await _rollout(kubectl, namespace, 2)
    await _kubectl(kubectl, "rollout", "pause", "deployment/web", "-n", namespace)
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        key = f"Deployment/{namespace}/web"
        await until(pilot, lambda: app.screen.tree.node(key)
                    and (app.store.get("Deployment", namespace, "web") or {}).get("spec", {}).get("paused"),
                    message="paused web")
        assert app.screen.tree.select_key(key)
        await pilot.press("U")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DashboardScreen), "a paused Deployment must be refused before asking"
        assert any("is paused; resume it first" in m for m in _messages(app))
        # The history is still a view; undo from it is refused there too, and it stays open.
        history = await _open_history(pilot, app, namespace, [2, 1])
        await pilot.press("down", "enter")
        await pilot.pause(0.3)
        assert app.screen is history
    assert app.audit.lines() == []
    assert await _image(kubectl, namespace) == IMAGES[2]
