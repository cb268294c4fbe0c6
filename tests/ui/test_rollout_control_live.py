"""Write actions driven through the UI against the real control plane: prompt → confirm → cluster."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time

import pytest

from devcluster.testing import deployment_manifest
from kdash.config import Settings
from kdash.screens.apply_preview import ApplyPreviewScreen
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.history import HistoryScreen
from kdash.screens.modals import PromptScreen
from kdash.screens.rollout_watch import RolloutWatchScreen
from tests.ui.pilot_helpers import live_app, until

pytestmark = pytest.mark.cluster


def _deployment(name: str, image: str, replicas: int = 2) -> str:
    return deployment_manifest(name, image, replicas)


async def _kubectl(kubectl, *args, **kwargs):
    return await asyncio.to_thread(kubectl, *args, **kwargs)


async def _deployment_json(kubectl, namespace: str, name: str) -> dict:
    return json.loads(await _kubectl(kubectl, "get", "deployment", name, "-n", namespace, "-o", "json"))


def _app(cluster, namespace, tmp_path, **overrides):
    return live_app(cluster, namespace, tmp_path, **overrides)


async def _select(pilot, app, key: str) -> None:
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.tree.node(key),
                 message=f"{key} in the tree")
    assert app.screen.tree.select_key(key)


async def _type(pilot, text: str) -> None:
    inp = pilot.app.screen.query_one("Input")
    inp.value = ""
    await pilot.press(*text) if text else None


async def test_scale_through_prompt_and_confirm(cluster, kubectl, namespace, tmp_path):
    await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web", "nginx:1.14.2"))
    app = _app(cluster, namespace, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await _select(pilot, app, f"Deployment/{namespace}/web")
        # Bad input first: a clear message, no confirmation, nothing sent.
        for bad in ("-1", "abc", "99999"):
            await pilot.press("s")
            assert isinstance(app.screen, PromptScreen)
            await _type(pilot, bad)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen), bad
        assert len(app._notifications) >= 3
        assert (await _deployment_json(kubectl, namespace, "web"))["spec"]["replicas"] == 2
        # Then a good one, confirmed.
        await pilot.press("s")
        await _type(pilot, "4")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        await pilot.press("y")
        deadline = time.monotonic() + 30
        while (await _deployment_json(kubectl, namespace, "web"))["spec"]["replicas"] != 4:
            assert time.monotonic() < deadline, "scale did not land"
            await pilot.pause(0.2)
        lines = app.audit.lines()
        assert [line["result"] for line in lines if line["verb"] == "scale"] == ["ok"]
        assert lines[-1]["object"].endswith(f"{namespace}/web")


async def test_cancelled_confirmation_changes_nothing(cluster, kubectl, namespace, tmp_path):
    await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web", "nginx:1.14.2"))
    app = _app(cluster, namespace, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await _select(pilot, app, f"Deployment/{namespace}/web")
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause(0.5)
    deployment = await _deployment_json(kubectl, namespace, "web")
    assert "kubectl.kubernetes.io/restartedAt" not in (deployment["spec"]["template"]["metadata"].get("annotations") or {})
    assert app.audit.lines() == []


async def test_protected_context_needs_its_name_typed(cluster, kubectl, namespace, tmp_path):
    await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web", "nginx:1.14.2"))
    app = _app(cluster, namespace, tmp_path, settings=Settings(protected_contexts=["kdash-dev"]))
    async with app.run_test(size=(100, 30)) as pilot:
        await _select(pilot, app, f"Deployment/{namespace}/web")
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"wrong", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen), "a wrong name must not confirm"
        app.screen.query_one("Input").value = ""
        await pilot.press(*"kdash-dev", "enter")
        # The restart's rollout watch may already be open by then.
        await until(pilot, lambda: isinstance(app.screen, (DashboardScreen, RolloutWatchScreen)),
                    message="dialog to close")

        async def restarted():
            d = await _deployment_json(kubectl, namespace, "web")
            return "kubectl.kubernetes.io/restartedAt" in (d["spec"]["template"]["metadata"].get("annotations") or {})

        deadline = time.monotonic() + 30
        while not await restarted():
            assert time.monotonic() < deadline
            await pilot.pause(0.2)


async def test_set_image_then_undo_mid_rollout_from_history(cluster, kubectl, namespace, tmp_path):
    await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web", "nginx:1.14.2"))
    await _kubectl(kubectl, "rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)
    app = _app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await _select(pilot, app, f"Deployment/{namespace}/web")
        # An invalid reference is refused before anything is sent.
        await pilot.press("i")
        await _type(pilot, "Nginx:latest")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        # A broken image: the rollout gets stuck (ImagePullBackOff), as in a bad release.
        await pilot.press("i")
        await _type(pilot, "registry.example.com/doesnotexist:1.0")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, RolloutWatchScreen), message="the rollout watch")
        await pilot.press("escape")

        def two_replicasets():
            dash = next(s for s in app.screen_stack if isinstance(s, DashboardScreen))
            return len([k for k in dash.tree.keys() if k.startswith("ReplicaSet/")]) == 2

        await until(pilot, two_replicasets, message="the stuck new ReplicaSet")
        # Undo from the history screen while the rollout is still in progress.
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen), message="history")
        history = app.screen
        assert [r.revision for r in history.revisions] == [2, 1]
        await pilot.press("u")  # undo to the previous revision
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="undo confirmation")
        await pilot.press("y")
        await _kubectl(kubectl, "rollout", "status", "deployment/web", "-n", namespace, "--timeout=90s",
                       timeout=100)
        deployment = await _deployment_json(kubectl, namespace, "web")
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.14.2"
        history_text = await _kubectl(kubectl, "rollout", "history", "deployment/web", "-n", namespace)
        assert "3 " in history_text  # the undo is revision 3, like kubectl rollout undo
        verbs = [(line["verb"], line["result"]) for line in app.audit.lines()]
        assert ("set-image", "ok") in verbs and ("undo", "ok") in verbs


async def test_apply_preview_refuses_a_file_with_a_bad_second_document(cluster, kubectl, namespace, tmp_path):
    manifest = tmp_path / "two.yaml"
    manifest.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: first}
        data: {a: "1"}
        ---
        apiVersion: v1
        kind: Frobnicator
        metadata: {name: second}
        """))
    app = _app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await until(pilot, lambda: app.connection is not None, message="connection")
        await pilot.press("a")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("Input").value = str(manifest)
        await pilot.press("enter")
        preview = await until(pilot, lambda: isinstance(app.screen, ApplyPreviewScreen) and app.screen,
                               message="apply preview")
        assert not preview.plan.ok
        assert [i.status for i in preview.plan.items] == ["created", "error"]
        assert "Frobnicator" in preview.plan.items[1].message
        assert preview.query_one("#apply").disabled
        await pilot.press("escape")
    out = await _kubectl(kubectl, "get", "configmap", "first", "-n", namespace, check=False)
    assert out == ""  # nothing applied, not even the valid first document


async def test_apply_creates_and_changes_after_preview(cluster, kubectl, namespace, tmp_path):
    await _kubectl(kubectl, "create", "configmap", "existing", "--from-literal=a=1", "-n", namespace)
    manifest = tmp_path / "ok.yaml"
    manifest.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: fresh}
        data: {x: "1"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: existing}
        data: {a: "2"}
        """))
    app = _app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await until(pilot, lambda: app.connection is not None, message="connection")
        await pilot.press("a")
        app.screen.query_one("Input").value = str(manifest)
        await pilot.press("enter")
        preview = await until(pilot, lambda: isinstance(app.screen, ApplyPreviewScreen) and app.screen,
                               message="apply preview")
        # `kubectl create` owns .data.a: server-side apply reports the conflict and offers a takeover.
        assert [i.status for i in preview.plan.items] == ["created", "error"]
        assert "kubectl-create" in preview.plan.items[1].message
        assert preview.query_one("#apply").disabled
        await pilot.click("#force")
        preview = await until(pilot, lambda: isinstance(app.screen, ApplyPreviewScreen)
                               and app.screen is not preview and app.screen, message="forced preview")
        assert [i.status for i in preview.plan.items] == ["created", "changed"]
        assert 'a: "1"' in preview.plan.items[1].diff or "a: '1'" in preview.plan.items[1].diff
        await pilot.click("#apply")
        deadline = time.monotonic() + 30
        while True:
            data = json.loads(await _kubectl(kubectl, "get", "configmap", "-n", namespace, "-o", "json"))
            by_name = {i["metadata"]["name"]: i.get("data") for i in data["items"]}
            if by_name.get("fresh") == {"x": "1"} and by_name.get("existing") == {"a": "2"}:
                break
            assert time.monotonic() < deadline, by_name
            await pilot.pause(0.2)
