"""The app adopts the watch kdash.boot started before the UI: same store, a first flush, the load ended.

No cluster: the Watcher's reflectors "list" the render fixtures at once (all of them before the
app exists, as at a fast start), the connections point at a closed port, and a fake connector
counts the connects. The same path against the real control plane: test_early_start_live.py.
"""

from __future__ import annotations

import gc
import json
from argparse import Namespace

import yaml

from kdash.actions.safety import AuditLog
from kdash.app import KdashApp, make_app
from kdash.boot import EarlyStart, start_watching
from kdash.config import Settings
from kdash.core.kinds import KINDS_BY_NAME
from kdash.heap import LOAD_TIMEOUT
from kdash.kube.client import connect
from kdash.kube.objects import slim
from kdash.kube.watcher import Watcher
from tests.ui.fixture_app import FIXTURE, LISTS
from tests.ui.pilot_helpers import until

KIND_LISTS = {kind: name for name, kind in LISTS.items()}


class FixtureReflector:
    """Lists its kind from the fixtures the moment it starts, then goes live (no thread, no network)."""

    def __init__(self, kind, namespace, store, on_change, stop) -> None:
        self.kind, self.namespace, self.store, self.on_change, self.stop = kind, namespace, store, on_change, stop

    def start(self) -> None:
        items = json.loads(FIXTURE.read_text()).get(KIND_LISTS.get(self.kind.name, ""), {"items": []})["items"]
        if self.kind.name == "Namespace":
            items = [{"apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Active"},
                      "metadata": {"name": n, "uid": f"uid-ns-{n}", "resourceVersion": "1"}}
                     for n in ("default", "staging")]
        mine = [slim(o, KINDS_BY_NAME[self.kind.name]) for o in items
                if self.namespace is None or o["metadata"].get("namespace") == self.namespace]
        self.store.replace(self.kind.name, self.namespace, mine, stop=self.stop)
        self.store.set_state(self.kind.name, self.namespace, "live", stop=self.stop)
        self.on_change(self.kind.name)

    def interrupt(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass

    def is_alive(self) -> bool:
        return False

    def reconnect(self) -> None:
        pass


class FixtureWatcher(Watcher):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, probe_interval=None, **kwargs)  # no /readyz probes of the closed port

    def _reflector(self, kind, namespace, stop, gate=None):
        return FixtureReflector(kind, namespace, self.store, self.on_change, stop)


class Connector:
    """Connects without a probe (closed port) and remembers which contexts it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str | None] = []

    def __call__(self, kubeconfig: str | None, context: str | None):
        self.asked.append(context)
        connection = connect(kubeconfig, context, probe=False)
        connection.version = f"v1.20.2+{connection.context_name}"
        return connection


def _args(tmp_path, **overrides) -> Namespace:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dev",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u", "namespace": "default"}}
                     for n in ("dev", "prod")],
    }))
    return Namespace(**{"kubeconfig": str(path), "context": None, "namespace": None, "all_namespaces": False,
                        "readonly": False, "theme": None, **overrides})


def _started(args: Namespace, connector: Connector) -> EarlyStart:
    early = start_watching(args, connector=connector, watcher_class=FixtureWatcher)
    # Every kind listed before the app exists: each list's change went nowhere.
    assert early.store.count("Deployment") == (4 if args.all_namespaces else 3)
    assert early.watcher.health() == "live"
    return early


def _app(args: Namespace, connector: Connector, early: EarlyStart, tmp_path) -> KdashApp:
    return make_app(args, connector=connector, early=early, settings=Settings(),
                    audit=AuditLog(tmp_path / "audit.log"))


async def test_the_app_adopts_a_watch_that_listed_everything_before_it_existed(tmp_path):
    args, connector = _args(tmp_path), Connector()
    early = _started(args, connector)
    assert not gc.isenabled()  # no collections while the store loads, from the early start on
    app = _app(args, connector, early, tmp_path)
    # A short terminal hides the details pane, so no event feed starts: only the adoption's own
    # marks can bring the first flush.
    async with app.run_test(size=(120, 24)) as pilot:
        tree = app.dashboard.tree
        await until(pilot, lambda: "Deployment/default/web" in tree.keys(), timeout=10,
                    message="the adopted store's tree")
        assert app.watcher is early.watcher and app.store is early.store and app.connection is early.connection
        assert connector.asked == [None]  # the early start's connect only: the app made none
        assert app.server_version == "v1.20.2+dev" and app.namespace == "default"
        assert app.events_feed is not None and app.events_feed.store is early.store
        assert {k for k in tree.keys() if k.startswith("Deployment/")} == {
            "Deployment/default/web", "Deployment/default/api", "Deployment/default/worker"}
        # The marks of the lists went nowhere; the adoption's own marks still end the load now,
        # not at the LOAD_TIMEOUT fallback.
        await until(pilot, lambda: not app.heap.loading_store, timeout=5, message="the store's load to end")
        assert gc.isenabled() and app.watch_health() == "live"
        assert app.heap is early.heap and LOAD_TIMEOUT > 5

        # Changes after the adoption reach the screen through the relay.
        renamed = next(d for d in json.loads(FIXTURE.read_text())["deployments"]["items"]
                       if d["metadata"]["name"] == "web" and d["metadata"]["namespace"] == "default")
        renamed["metadata"].update(name="web-2", uid="uid-web-2")
        early.store.upsert("Deployment", slim(renamed, KINDS_BY_NAME["Deployment"]))
        early.watcher.on_change("Deployment")  # what a reflector calls: the relay, now attached
        await until(pilot, lambda: "Deployment/default/web-2" in tree.keys(), timeout=5,
                    message="a change after the adoption")

        # A namespace switch runs on the adopted watcher, as on one the app started.
        app.switch_namespace("staging")
        await until(pilot, lambda: "Deployment/staging/web" in tree.keys()
                    and "Deployment/default/api" not in tree.keys(), timeout=5, message="the staging tree")
        assert app.watcher is early.watcher and early.watcher.namespace == "staging"

        # A context switch replaces it like any first connection.
        app._switch_context("prod")
        await until(pilot, lambda: app.connection is not None and app.connection.context_name == "prod",
                    timeout=10, message="the switch to prod")
        assert connector.asked == [None, "prod"]
        assert app.watcher is not early.watcher and app.namespace == "default"
        await until(pilot, lambda: not early.watcher.reflectors, timeout=5, message="the early watcher to stop")


async def test_all_namespaces_adopted(tmp_path):
    args, connector = _args(tmp_path, all_namespaces=True), Connector()
    early = _started(args, connector)
    assert early.watcher.namespace is None
    app = _app(args, connector, early, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.dashboard.tree
        await until(pilot, lambda: {"Deployment/default/web", "Deployment/staging/web"} <= set(tree.keys()),
                    timeout=10, message="both namespaces' trees")
        assert app.watcher is early.watcher and app.namespace is None and app.namespace_label == "all namespaces"
        assert connector.asked == [None]
        await until(pilot, lambda: not app.heap.loading_store, timeout=5, message="the store's load to end")


async def test_a_watch_on_another_context_is_stopped_not_adopted(tmp_path):
    connector = Connector()
    early = _started(_args(tmp_path), connector)  # the current context, dev
    app = _app(_args(tmp_path, context="prod"), connector, early, tmp_path)
    # Refused at once: collections back on, its reflectors stopping.
    assert gc.isenabled() and app.heap is not early.heap
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connection is not None, timeout=10, message="the app's own connection")
        assert connector.asked == [None, "prod"]
        assert app.connection.context_name == "prod" and app.connection is not early.connection
        assert app.watcher is not early.watcher and app.store is not early.store
        await until(pilot, lambda: not early.watcher.reflectors, timeout=5, message="the early watcher to stop")


async def test_a_watch_of_another_namespace_is_stopped_not_adopted(tmp_path):
    connector = Connector()
    early = _started(_args(tmp_path), connector)  # the context's namespace, default
    app = _app(_args(tmp_path, namespace="staging"), connector, early, tmp_path)
    assert gc.isenabled()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.watcher is not None, timeout=10, message="the app's own watcher")
        assert app.watcher is not early.watcher and app.namespace == "staging"
        assert connector.asked == [None, None]
