"""Edit and apply through the UI against the real control plane: what lands is what the user changed."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import time
import uuid
from contextlib import nullcontext

import pytest
from textual.geometry import Region

from kdash.config import Settings
from kdash.screens.apply_preview import ApplyPreviewScreen
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.help import HelpScreen
from kdash.screens.modals import PromptScreen
from tests.ui.pilot_helpers import live_app, until

pytestmark = pytest.mark.cluster

FINALIZER = "example.com/keep"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


async def _kubectl(kubectl, *args, **kwargs):
    return await asyncio.to_thread(kubectl, *args, **kwargs)


async def _configmap(kubectl, namespace: str, name: str = "app") -> dict:
    return json.loads(await _kubectl(kubectl, "get", "configmap", name, "-n", namespace, "-o", "json"))


@pytest.fixture
def guarded(cluster, kubectl, namespace):
    """A ConfigMap with an owner, a finalizer and kubectl's last-applied annotation."""
    kubectl("create", "configmap", "owner", "-n", namespace)
    owner = json.loads(kubectl("get", "configmap", "owner", "-n", namespace, "-o", "json"))
    manifest = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "app", "finalizers": [FINALIZER],
                             "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                                  "uid": owner["metadata"]["uid"]}]},
                "data": {"a": "1", "b": "2"}}
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    yield json.loads(kubectl("get", "configmap", "app", "-n", namespace, "-o", "json"))
    kubectl("patch", "configmap", "app", "-n", namespace, "--type=json",
            "-p", '[{"op": "remove", "path": "/metadata/finalizers"}]', check=False)


def _editor(tmp_path, monkeypatch, code: str) -> None:
    """$EDITOR = a Python program running `code` with `path`, the file to edit."""
    script = tmp_path / "editor.py"
    script.write_text(f"#!{sys.executable}\nimport pathlib, subprocess, sys\npath = pathlib.Path(sys.argv[1])\n"
                      + textwrap.dedent(code))
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("KUBE_EDITOR", raising=False)


async def _edit(pilot, app, namespace: str) -> None:
    app.suspend = nullcontext  # a headless app has no terminal to hand over
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.connection is not None,
                message="connection")
    await pilot.press("3")
    key = f"ConfigMap/{namespace}/app"
    await until(pilot, lambda: app.screen.tree.node(key), message=key)
    assert app.screen.tree.select_key(key)
    await pilot.press("e")


async def test_edit_changes_only_the_data_the_user_changed(cluster, kubectl, namespace, guarded, tmp_path,
                                                           monkeypatch):
    _editor(tmp_path, monkeypatch, """
        path.write_text(path.read_text().replace("a: '1'", "a: '10'"))
    """)
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await _edit(pilot, app, namespace)
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="the save confirmation")
        await pilot.press("y")
        deadline = time.monotonic() + 30
        while (await _configmap(kubectl, namespace))["data"]["a"] != "10":
            assert time.monotonic() < deadline, "the edit did not land"
            await pilot.pause(0.2)
    after = await _configmap(kubectl, namespace)
    assert after["data"] == {"a": "10", "b": "2"}
    for field in ("ownerReferences", "finalizers", "labels", "uid"):
        assert after["metadata"].get(field) == guarded["metadata"].get(field), field
    assert after["metadata"]["annotations"][LAST_APPLIED] == guarded["metadata"]["annotations"][LAST_APPLIED]


async def test_a_change_made_while_the_editor_is_open_is_refused_not_overwritten(
        cluster, kubectl, namespace, guarded, tmp_path, monkeypatch):
    # While "editing", someone else changes the ConfigMap; the user also drops resourceVersion.
    _editor(tmp_path, monkeypatch, f"""
        subprocess.run([{cluster.kubectl_path!r}, "--kubeconfig", {cluster.kubeconfig!r}, "patch", "configmap",
                        "app", "-n", {namespace!r}, "--type=merge", "-p", '{{"data": {{"b": "theirs"}}}}'],
                       check=True, capture_output=True)
        lines = path.read_text().replace("a: '1'", "a: 'mine'").splitlines(keepends=True)
        path.write_text("".join(line for line in lines if "resourceVersion:" not in line))
    """)
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await _edit(pilot, app, namespace)
        refused = lambda: any("changed meanwhile" in n.message for n in app._notifications)  # noqa: E731
        await until(pilot, lambda: refused() or isinstance(app.screen, ConfirmScreen), message="the outcome")
        if isinstance(app.screen, ConfirmScreen):
            await pilot.press("y")  # what a user would do with a preview that looks right
            await pilot.pause(2)
        assert refused(), [n.message for n in app._notifications]
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), message="kdash still answers")
    assert (await _configmap(kubectl, namespace))["data"] == {"a": "1", "b": "theirs"}


async def _apply_file(pilot, app, path) -> ApplyPreviewScreen:
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.connection is not None,
                message="connection")
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="the file prompt")
    app.screen.query_one("Input").value = str(path)
    await pilot.press("enter")
    return await until(pilot, lambda: isinstance(app.screen, ApplyPreviewScreen) and app.screen,
                       message="the preview")


async def test_apply_on_a_protected_context_applies_and_kdash_keeps_running(cluster, kubectl, namespace,
                                                                             tmp_path):
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: '1'}\n")
    app = live_app(cluster, namespace, tmp_path, settings=Settings(protected_contexts=["kdash-dev"]))
    async with app.run_test(size=(110, 32)) as pilot:
        await _apply_file(pilot, app, manifest)
        await pilot.click("#apply")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="typed-name confirmation")
        await pilot.press(*"kdash-dev", "enter")
        await until(pilot, lambda: any(n.message.startswith("applied 1 objects") for n in app._notifications),
                    message="the apply's result")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), message="kdash still answers")
    assert (await _configmap(kubectl, namespace))["data"] == {"a": "1"}
    assert [(l["verb"], l["dry_run"], l["result"]) for l in app.audit.lines()][-1] == ("apply", False, "ok")


async def test_a_namespace_and_objects_in_it_apply_from_the_ui(cluster, kubectl, namespace, tmp_path):
    ns = f"t-new-{uuid.uuid4().hex[:6]}"
    manifest = tmp_path / "ns.yaml"
    manifest.write_text(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n"
                        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: {ns}}}\n"
                        "data: {a: '1'}\n")
    app = live_app(cluster, namespace, tmp_path)
    try:
        async with app.run_test(size=(110, 32)) as pilot:
            preview = await _apply_file(pilot, app, manifest)
            assert preview.plan.ok and [i.status for i in preview.plan.items] == ["created", "created"]
            await pilot.pause(0.2)
            plan = preview.query_one("#plan")
            shown = "\n".join(strip.text for strip in plan.render_lines(Region(0, 0, *plan.size)))
            assert f"checked by the server once Namespace {ns} is created" in shown
            assert not preview.query_one("#apply").disabled
            await pilot.click("#apply")
            await until(pilot, lambda: any(n.message.startswith("applied 2 objects") for n in app._notifications),
                        message="the apply's result")
        assert (await _configmap(kubectl, ns))["data"] == {"a": "1"}
    finally:
        await _kubectl(kubectl, "delete", "namespace", ns, "--wait=false", check=False)
