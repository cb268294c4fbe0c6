"""StatefulSet and DaemonSet writes driven through the UI on the real control plane: partition in stages,
scale naming the HPA, undo through the history, refused under --readonly; what the tree then paints."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from textual.geometry import Region

from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.history import HistoryScreen
from kdash.screens.modals import PromptScreen
from tests.cluster.test_controllers_cluster import daemonset, statefulset
from tests.ui.pilot_helpers import live_app, until

pytestmark = pytest.mark.cluster


async def _kubectl(kubectl, *args, **kwargs):
    return await asyncio.to_thread(kubectl, *args, **kwargs)


def _painted(app) -> str:
    tree = app.screen.tree
    return "\n".join(strip.text.rstrip() for strip in tree.render_lines(Region(0, 0, *tree.size)))


def _confirm_text(app) -> str:
    """The screen's text without whitespace and the dialog's side borders: where the dialog wraps
    depends on the namespace's length."""
    return re.sub(r"[\s█]", "", "\n".join(strip.text for strip in app.screen._compositor.render_strips()))


async def _select(pilot, app, key: str) -> None:
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.tree.node(key),
                message=f"{key} in the tree")
    assert app.screen.tree.select_key(key)


async def _answer(pilot, text: str | None) -> None:
    """Type `text` into the open prompt (None: keep its value) and submit it."""
    assert isinstance(pilot.app.screen, PromptScreen)
    if text is not None:
        pilot.app.screen.query_one("Input").value = ""
        await pilot.press(*text)
    await pilot.press("enter")


async def test_partition_stages_and_scale_names_the_hpa(cluster, kubectl, namespace, tmp_path):
    await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=statefulset("web", "nginx:1.20", 2, 2))
    await _kubectl(kubectl, "rollout", "status", "sts/web", "-n", namespace, "--timeout=90s", timeout=100)
    await _kubectl(kubectl, "set", "image", "sts/web", "main=nginx:1.21", "-n", namespace)
    await _kubectl(kubectl, "autoscale", "sts/web", "--min=2", "--max=4", "-n", namespace)
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("4")
        key = f"StatefulSet/{namespace}/web"
        await _select(pilot, app, key)
        await until(pilot, lambda: "partition 2" in app.screen.tree.node(key).label, message="partition 2 shown")
        # Bad input: said, nothing sent.
        await pilot.press("P")
        await _answer(pilot, "7")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("P")
        await _answer(pilot, None)  # the default: one step lower
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="partition confirmation")
        shown = await until(pilot, lambda: "dryrun" in _confirm_text(app) and _confirm_text(app),
                            message="the dry run in the confirmation")
        assert "partition2→1" in shown and "podstoupdate:web-1" in shown
        await pilot.press("y")
        await until(pilot, lambda: "rev 2" in (app.screen.tree.node(f"{key}/Pod/{namespace}/web-1") or
                                               app.screen.tree.node(key)).label, timeout=90,
                    message="web-1 on the update revision")
        app.screen.tree.root.expand_all()
        await until(pilot, lambda: "rev 1 (held by partition 1)" in _painted(app), message="web-0 held")
        sts = json.loads(await _kubectl(kubectl, "get", "sts/web", "-n", namespace, "-o", "json"))
        assert sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] == 1

        await _select(pilot, app, key)
        await pilot.press("s")
        await _answer(pilot, "3")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="scale confirmation")
        await until(pilot, lambda: "HorizontalPodAutoscalerwebtargetsthisStatefulSet" in _confirm_text(app),
                    message="the HPA named in the confirmation")
        await pilot.press("escape")
        await pilot.pause()
        assert [line["verb"] for line in app.audit.lines() if not line.get("dry_run")] == ["partition"]


async def test_daemonset_undo_through_the_history_equals_kubectl(cluster, kubectl, namespace, tmp_path):
    pool = "kdash-node"  # the fake kubelet's own nodes carry no pool label: select them by hostname prefix
    manifest = json.loads(daemonset("agent", "fluent/fluent-bit:1.8", pool))
    manifest["spec"]["template"]["spec"].pop("nodeSelector")
    await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    await _kubectl(kubectl, "rollout", "status", "ds/agent", "-n", namespace, "--timeout=90s", timeout=100)
    await _kubectl(kubectl, "set", "image", "ds/agent", "agent=fluent/fluent-bit:1.9", "-n", namespace)
    await _kubectl(kubectl, "rollout", "status", "ds/agent", "-n", namespace, "--timeout=90s", timeout=100)
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("5")
        key = f"DaemonSet/{namespace}/agent"
        await _select(pilot, app, key)
        await until(pilot, lambda: "rev 2" in app.screen.tree.node(key).label, message="rev 2 shown")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and len(app.screen.revisions) == 2,
                    message="history with two revisions")
        await pilot.press("u")  # undo to the previous one
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="undo confirmation")
        shown = await until(pilot, lambda: "wouldgobacktorevision1" in _confirm_text(app) and _confirm_text(app),
                            message="the dry run in the confirmation")
        assert "revision1:fluent/fluent-bit:1.8" in shown
        await pilot.press("y")
        await until(pilot, lambda: "rev 3" in app.screen.tree.node(key).label, timeout=90, message="rev 3")
    template = json.loads(await _kubectl(kubectl, "get", "ds/agent", "-n", namespace, "-o", "json"))["spec"]
    assert template["template"]["spec"]["containers"][0]["image"] == "fluent/fluent-bit:1.8"
    history = await _kubectl(kubectl, "rollout", "history", "ds/agent", "-n", namespace)
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]


async def test_readonly_refuses_partition_and_undo(cluster, kubectl, namespace, tmp_path):
    await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=statefulset("web", "nginx:1.20", 1, 1))
    app = live_app(cluster, namespace, tmp_path, readonly=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("4")
        await _select(pilot, app, f"StatefulSet/{namespace}/web")
        for key in ("P", "U", "s", "r", "i"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen), key
        refused = [(line["verb"], line["result"]) for line in app.audit.lines()]
        assert refused == [(v, "refused") for v in ("partition", "undo", "scale", "restart", "set_image")]
