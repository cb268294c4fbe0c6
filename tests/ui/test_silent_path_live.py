"""Pilot tests through a TCP proxy to the real control plane: a stalled path, a slow server."""

from __future__ import annotations

import asyncio
import statistics
import time
from argparse import Namespace

import pytest
import yaml
from textual.geometry import Region

from devcluster.testing import deployment_manifest
from kdash.actions import scale as scale_action
from kdash.actions.registry import BY_ID
from kdash.actions.safety import AuditLog
from kdash.app import make_app
from kdash.config import Settings
from kdash.screens.dashboard import DashboardScreen
from kdash.widgets.status import HeaderLine
from tests.cluster.tcp_proxy import TcpProxy, proxied_kubeconfig, upstream_of
from tests.ui.pilot_helpers import until

pytestmark = pytest.mark.cluster


@pytest.fixture
def proxy(cluster):
    proxy = TcpProxy(upstream_of(cluster))
    yield proxy
    proxy.close()


def _app(cluster, proxy, namespace, tmp_path):
    args = Namespace(kubeconfig=proxied_kubeconfig(cluster, proxy, tmp_path / "kubeconfig"), context=None,
                     namespace=namespace, all_namespaces=False, readonly=False, theme=None)
    return make_app(args, settings=Settings(), audit=AuditLog(tmp_path / "audit.log"))


def _deployment(name: str) -> str:
    return deployment_manifest(name, "nginx:1.21.0", replicas=1)


def _header(screen: DashboardScreen) -> str:
    return screen.query_one(HeaderLine).render().plain


def _top_line(widget) -> str:
    """What the widget paints on its first row (its top border when it has one)."""
    strips = widget.render_lines(Region(0, 0, widget.outer_size.width, 1))
    return "".join(segment.text for segment in strips[0]) if strips else ""


async def test_stalled_path_is_said_dimmed_and_refused_then_recovers(cluster, kubectl, namespace, proxy, tmp_path):
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("before"))
    app = _app(cluster, proxy, namespace, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        tree = screen.tree
        before, during = f"Deployment/{namespace}/before", f"Deployment/{namespace}/during"
        await until(pilot, lambda: before in tree.keys() and "● live" in _header(screen), message="live tree")
        assert not tree.has_class("stale")

        proxy.stall()
        stalled = time.monotonic()
        await until(pilot, lambda: "stale for" in _header(screen), timeout=30, message="header to say stale")
        detection = time.monotonic() - stalled
        # The panes say it too, and keep the last known state, dimmed.
        await until(pilot, lambda: "stale for" in _top_line(tree), message="the tree to say stale")
        assert tree.has_class("stale") and screen.query_one("#details-scroll").has_class("stale")
        assert tree.styles.text_opacity < 1
        assert before in tree.keys()
        # A write now is refused before anything is sent, with the reason, and audited.
        assert not app.writable(BY_ID["scale"])
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("has not answered" in m and "nothing was sent" in m for m in messages), messages
        assert app.audit.lines()[-1]["result"] == "refused"

        await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("during"))
        await pilot.pause(2)
        assert during not in tree.keys()  # the path is down: it cannot be there yet
        assert "stale for" in _header(screen)
        proxy.resume()
        resumed = time.monotonic()
        await until(pilot, lambda: during in tree.keys() and "● live" in _header(screen), timeout=30,
                    message="the Deployment made during the stall, and live")
        recovery = time.monotonic() - resumed
        await until(pilot, lambda: not tree.has_class("stale"), message="the tree to be bright again")
        print(f"UI: stale said {detection:.2f} s after the stall, live {recovery:.2f} s after the return")
        assert detection < 10
        assert recovery < 5


@pytest.mark.parametrize("latency", [0.0, 1.0])
async def test_one_second_of_latency_keeps_keys_fast_and_shows_waiting(cluster, kubectl, namespace, proxy, tmp_path,
                                                                      latency):
    # Without latency: the baseline the figures are compared with.
    for name in ("a", "b", "c"):
        await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment(name))
    proxy.latency = latency
    app = _app(cluster, proxy, namespace, tmp_path)
    seen: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        tree = screen.tree

        def loaded() -> bool:
            seen.append(_header(screen))
            return len([k for k in tree.keys() if k.startswith("Deployment/")]) == 3 and "● live" in seen[-1]

        started = time.monotonic()
        await until(pilot, loaded, timeout=60, message="three Deployments through a slow path")
        print(f"first list through {latency} s of latency: {time.monotonic() - started:.2f} s")
        if latency:
            # The list said it was waiting before it showed anything.
            assert any("connecting" in h or "starting" in h for h in seen), seen
        times = []
        for key in ["down"] * 10 + ["up"] * 10:
            pressed = time.monotonic()
            await pilot.press(key)
            await pilot.pause()
            times.append(time.monotonic() - pressed)
        print(f"key→paint with {latency} s latency: median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms")
        # Nothing on the UI thread waits for the server: each key is far under one round trip.
        assert max(times) < 0.5

        if not latency:
            return
        # A write through the slow path says it is waiting, and then that it is done.
        assert tree.select_key(f"Deployment/{namespace}/a")
        screen._run_write(lambda ctx: scale_action.scale(ctx, namespace, "a", 2), None, None)
        await until(pilot, lambda: "waiting for the API server" in str(screen.query_one("#status").render()),
                    timeout=10, message="the status line to say the write is waiting")
        await until(pilot, lambda: any(n.title == "Done" for n in app._notifications), timeout=30,
                    message="the write to finish")
        await until(pilot, lambda: "waiting" not in str(screen.query_one("#status").render()),
                    message="the waiting note to go")


async def test_switching_away_from_a_stalled_server_is_immediate(cluster, kubectl, namespace, proxy, tmp_path):
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web"))
    # Two contexts on the same cluster: "stalled" through the proxy (current), "direct" without it.
    path = tmp_path / "kubeconfig"
    proxied_kubeconfig(cluster, proxy, path)
    config = yaml.safe_load(path.read_text())
    config["clusters"].append({"name": "direct", "cluster": dict(config["clusters"][0]["cluster"],
                                                                 server=cluster.server)})
    config["contexts"][0]["name"] = config["current-context"] = "stalled"
    config["contexts"].append({"name": "direct", "context": dict(config["contexts"][0]["context"],
                                                                 cluster="direct", namespace=namespace)})
    config["contexts"][0]["context"]["namespace"] = namespace
    path.write_text(yaml.safe_dump(config))
    args = Namespace(kubeconfig=str(path), context=None, namespace=namespace, all_namespaces=False,
                     readonly=False, theme=None)
    app = make_app(args, settings=Settings(), audit=AuditLog(tmp_path / "audit.log"))
    web = f"Deployment/{namespace}/web"
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: web in screen.tree.keys() and "● live" in _header(screen), message="live")
        proxy.stall()
        await until(pilot, lambda: "stale for" in _header(screen), timeout=30, message="stale")
        started = time.monotonic()
        app._switch_context("direct")
        # The UI thread never waits on the stalled server: keys keep painting meanwhile.
        pressed = time.monotonic()
        await pilot.press("down")
        await pilot.pause()
        key_seconds = time.monotonic() - pressed
        await until(pilot, lambda: app.context_name == "direct", timeout=30, message="the switch")
        switched = time.monotonic() - started
        await until(pilot, lambda: web in app.screen.tree.keys() and "● live" in _header(app.screen),
                    timeout=30, message="the direct context live")
        live = time.monotonic() - started
        print(f"switch away from a stalled server: connected in {switched:.2f} s, live in {live:.2f} s, "
              f"a key meanwhile {key_seconds * 1000:.0f} ms")
        assert switched < 3 and live < 5
        assert key_seconds < 1.0
