"""Context and namespace switches against the real control plane: a switch that fails (closed port,
a server that never answers) leaves every policy on the cluster still in use, and kubectl sees
that no write went anywhere it was not confirmed for."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from argparse import Namespace

import pytest
import yaml

from devcluster.testing import deployment_manifest
from kdash.actions.safety import AuditLog
from kdash.app import make_app
from kdash.config import Settings
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.modals import PickScreen, PromptScreen
from kdash.screens.rollout_watch import RolloutWatchScreen
from kdash.widgets.status import HeaderLine
from tests.ui.pilot_helpers import until

pytestmark = pytest.mark.cluster

REAL = "kdash-dev"  # the context devcluster writes


def _deployment(name: str, replicas: int = 2) -> str:
    return deployment_manifest(name, "nginx:1.14.2", replicas)


@pytest.fixture
def silent_server():
    """A TLS port that completes the TCP handshake (backlog) and then never says anything."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        yield f"https://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"https://127.0.0.1:{sock.getsockname()[1]}"


def _kubeconfig(cluster, tmp_path, **servers: str) -> str:
    """The cluster's kubeconfig plus one context per keyword, pointing at that server (same user)."""
    config = yaml.safe_load(open(cluster.kubeconfig))
    user = config["users"][0]["name"]
    for name, server in servers.items():
        config["clusters"].append({"name": name, "cluster": {"server": server, "insecure-skip-tls-verify": True}})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": user}})
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _app(kubeconfig: str, namespace: str, tmp_path, **settings):
    args = Namespace(kubeconfig=kubeconfig, context=REAL, namespace=namespace, all_namespaces=False,
                     readonly=False, theme=None)
    return make_app(args, settings=Settings(**settings), audit=AuditLog(tmp_path / "audit.log"))


def _header(app) -> str:
    header = app.screen.query_one(HeaderLine)
    return "".join(s.text for s in header.render_lines(header.region.reset_offset)).strip()


async def _replicas(kubectl, namespace: str, name: str) -> int:
    out = await asyncio.to_thread(kubectl, "get", "deployment", name, "-n", namespace, "-o", "json")
    return json.loads(out)["spec"]["replicas"]


async def _restarted(kubectl, namespace: str, name: str) -> bool:
    out = await asyncio.to_thread(kubectl, "get", "deployment", name, "-n", namespace, "-o", "json")
    annotations = json.loads(out)["spec"]["template"]["metadata"].get("annotations") or {}
    return "kubectl.kubernetes.io/restartedAt" in annotations


async def _select_web(pilot, app, namespace: str) -> None:
    key = f"Deployment/{namespace}/web"
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.tree.node(key),
                message="web in the tree")
    assert app.screen.tree.select_key(key)


async def _pick(pilot, key: str, value: str) -> None:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, PickScreen), message="picker")
    options = pilot.app.screen.query_one("OptionList")
    options.highlighted = [o.id for o in options._options].index(value)
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(pilot.app.screen, PickScreen), message="picker closed")


async def test_read_only_survives_a_switch_to_a_closed_port(cluster, kubectl, namespace, tmp_path, closed_port):
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web"))
    app = _app(_kubeconfig(cluster, tmp_path, dead=closed_port), namespace, tmp_path, readonly_contexts=[REAL])
    async with app.run_test(size=(120, 30)) as pilot:
        await _select_web(pilot, app, namespace)
        real = app.connection
        await _pick(pilot, "c", "dead")
        await until(pilot, lambda: getattr(app, "pending_context", None) is None, timeout=15, message="the switch to fail")
        assert any("dead" in (n.title or "") for n in app._notifications)
        assert app.connection is real and app.context_name == REAL and app.readonly
        header = _header(app)
        assert f"ctx {REAL}" in header and "READONLY" in header and f"ns {namespace}" in header, header
        # The tree is still the real cluster's, and `s` on it is refused before any prompt.
        await _select_web(pilot, app, namespace)
        await pilot.press("s")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, PromptScreen), "read-only must not even ask"
    assert await _replicas(kubectl, namespace, "web") == 2
    lines = app.audit.lines()
    assert [(line["context"], line["verb"], line["result"]) for line in lines] == [(REAL, "scale", "refused")]


async def test_protected_survives_a_switch_to_a_server_that_never_answers(cluster, kubectl, namespace, tmp_path,
                                                                          silent_server):
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web"))
    app = _app(_kubeconfig(cluster, tmp_path, silent=silent_server), namespace, tmp_path,
               protected_contexts=[REAL])
    async with app.run_test(size=(120, 30)) as pilot:
        await _select_web(pilot, app, namespace)
        await _pick(pilot, "c", "silent")
        started = time.monotonic()
        # While it connects: the header says so, the current context stays, writes are refused.
        await until(pilot, lambda: "connecting to silent…" in _header(app), message="the pending switch")
        assert f"ctx {REAL}" in _header(app) and app.protected
        await pilot.press("r")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DashboardScreen)
        assert not await _restarted(kubectl, namespace, "web")
        await until(pilot, lambda: getattr(app, "pending_context", None) is None, timeout=15, message="the switch to fail")
        failed_after = time.monotonic() - started
        assert failed_after < 8, f"{failed_after:.1f} s"
        assert app.context_name == REAL and app.protected and "connecting to" not in _header(app)
        # The confirmation still wants the real context's name typed; `y` is not enough.
        await _select_web(pilot, app, namespace)
        await pilot.press("r")
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                              message="confirmation")
        assert confirm._context_name == REAL and confirm.query("#typed")
        await pilot.press("y", "enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ConfirmScreen), "a protected context needs its name typed"
        confirm.query_one("#typed").value = ""
        await pilot.press(*REAL, "enter")
        # The restart's rollout watch may already be open by then.
        await until(pilot, lambda: isinstance(app.screen, (DashboardScreen, RolloutWatchScreen)),
                    message="dialog closed")
        deadline = time.monotonic() + 30
        while not await _restarted(kubectl, namespace, "web"):
            assert time.monotonic() < deadline, "the restart did not land on the real cluster"
            await pilot.pause(0.2)
    lines = [line for line in app.audit.lines() if line["verb"] != "rollout-watch"]
    assert [(line["context"], line["result"], line["detail"]) for line in lines] == [
        (REAL, "refused", "switching to context silent"), (REAL, "ok", lines[1]["detail"])]


async def test_a_successful_switch_moves_every_policy_with_it(cluster, kubectl, namespace, tmp_path):
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web"))
    config = yaml.safe_load(open(cluster.kubeconfig))
    mirror = dict(config["contexts"][0], name="mirror")  # the same cluster under another name
    kubeconfig = _kubeconfig(cluster, tmp_path)
    data = yaml.safe_load(open(kubeconfig))
    data["contexts"].append({"name": "mirror", "context": dict(mirror["context"], namespace=namespace)})
    open(kubeconfig, "w").write(yaml.safe_dump(data))
    app = _app(kubeconfig, namespace, tmp_path, readonly_contexts=["mirror"])
    async with app.run_test(size=(120, 30)) as pilot:
        await _select_web(pilot, app, namespace)
        assert not app.readonly
        await _pick(pilot, "c", "mirror")
        await until(pilot, lambda: app.context_name == "mirror", timeout=15, message="the switch")
        assert app.readonly and "READONLY" in _header(app) and "ctx mirror" in _header(app)
        await _select_web(pilot, app, namespace)
        await pilot.press("s")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DashboardScreen)
    assert await _replicas(kubectl, namespace, "web") == 2
    assert [(line["context"], line["result"]) for line in app.audit.lines()] == [("mirror", "refused")]


async def test_namespace_switch_never_shows_the_old_tree_and_a_deleted_namespace_is_said(
        cluster, kubectl, namespace, tmp_path):
    other = f"{namespace}-b"[:63]
    await asyncio.to_thread(kubectl, "create", "namespace", other)
    try:
        await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web", 1))
        await asyncio.to_thread(kubectl, "create", "configmap", "only-b", "-n", other)
        app = _app(cluster.kubeconfig, namespace, tmp_path)
        async with app.run_test(size=(120, 30)) as pilot:
            await _select_web(pilot, app, namespace)
            await until(pilot, lambda: app.watch_health() == "live", message="live")
            header = app.screen.query_one(HeaderLine)
            shown: list[tuple[str, str, set[str]]] = []
            show = header.show

            def recording(context, ns, version, health, *args, **kwargs):
                # What the screen holds each time the header is (re)drawn: header ns, health, tree.
                shown.append((ns, health, set(app.dashboard.tree.keys())))
                return show(context, ns, version, health, *args, **kwargs)

            header.show = recording
            await _pick(pilot, "n", other)
            await pilot.press("3")
            await until(pilot, lambda: app.screen.tree.node(f"ConfigMap/{other}/only-b"), message="b's tree")
            under_b = [(health, keys) for ns, health, keys in shown if ns == other]
            assert under_b, "the header never named the new namespace"
            assert all(not any(namespace + "/" in key and other not in key for key in keys) for _, keys in under_b), \
                "the old namespace's tree showed under the new header"
            first_health = under_b[0][0]
            assert first_health != "live", "the new namespace was marked live before it was listed"
            # The namespace goes away while shown: said, not an empty "live" view.
            await asyncio.to_thread(kubectl, "delete", "namespace", other, "--wait=false")
            await until(pilot, lambda: f"namespace {other} was deleted" in _header(app), timeout=60,
                        message="the deletion said")
            assert "● live" not in _header(app)
    finally:
        await asyncio.to_thread(kubectl, "delete", "namespace", other, "--wait=false", check=False)
