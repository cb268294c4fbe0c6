"""The early start against the real control plane: lists done before the app exists, then adopted."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from argparse import Namespace

import pytest

from devcluster.testing import deployment_manifest
from kdash.actions.safety import AuditLog
from kdash.app import make_app
from kdash.boot import EarlyStart, start_watching
from kdash.config import Settings
from tests.ui.pilot_helpers import until

pytestmark = pytest.mark.cluster


def _args(cluster, namespace: str) -> Namespace:
    return Namespace(kubeconfig=cluster.kubeconfig, context=None, namespace=namespace, all_namespaces=False,
                     readonly=False, theme=None)


def _keys(kubectl, namespace: str) -> set[str]:
    items = json.loads(kubectl("get", "deploy,rs,pods", "-n", namespace, "-o", "json"))["items"]
    return {f"{o['kind']}/{namespace}/{o['metadata']['name']}" for o in items}


def _listed(early: EarlyStart, deployments: int, timeout: float = 30) -> None:
    """Wait (in the test's thread: there is no app yet) until every reflector has listed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if early.watcher.health() == "live" and early.store.count("Deployment") >= deployments:
            return
        time.sleep(0.05)
    raise AssertionError(f"the early watch did not list within {timeout} s: {early.watcher.health()}")


async def _deployed(kubectl, namespace: str, name: str, replicas: int = 2) -> None:
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-",
                            input=deployment_manifest(name, "nginx:1.14.2", replicas))
    await asyncio.to_thread(kubectl, "rollout", "status", f"deployment/{name}", "-n", namespace,
                            "--timeout=60s", timeout=70)


async def test_an_early_watch_is_adopted_and_stays_live(cluster, kubectl, namespace, tmp_path):
    await _deployed(kubectl, namespace, "web")
    args = _args(cluster, namespace)
    early = start_watching(args)  # what `kdash` does before importing the UI
    await asyncio.to_thread(_listed, early, 1)
    want = await asyncio.to_thread(_keys, kubectl, namespace)
    assert early.store.count("Pod") == 2 and not gc.isenabled()
    app = make_app(args, early=early, settings=Settings(), audit=AuditLog(tmp_path / "audit.log"))
    async with app.run_test(size=(120, 24)) as pilot:
        tree = app.dashboard.tree
        await until(pilot, lambda: want <= set(tree.keys()), timeout=15, message="the listed tree")
        assert app.watcher is early.watcher and app.store is early.store and app.connection is early.connection
        assert app.connection.context_name == "kdash-dev" and app.namespace == namespace
        assert app.server_version.startswith("v1.")
        # Every list ended before the app existed: the adoption's marks end the load at once.
        await until(pilot, lambda: not app.heap.loading_store, timeout=5, message="the store's load to end")
        assert gc.isenabled() and app.watch_health() == "live"

        # The watch goes on into the app: a scale after the adoption reaches the tree.
        await asyncio.to_thread(kubectl, "scale", "deployment/web", "--replicas=3", "-n", namespace)
        await until(pilot, lambda: len([k for k in tree.keys() if k.startswith("Pod/")]) == 3, timeout=30,
                    message="the third pod")


async def test_an_early_watch_of_another_namespace_is_stopped(cluster, kubectl, namespace, tmp_path):
    await _deployed(kubectl, namespace, "api", replicas=1)
    early = start_watching(_args(cluster, "default"))
    app = make_app(_args(cluster, namespace), early=early, settings=Settings(),
                   audit=AuditLog(tmp_path / "audit.log"))
    assert gc.isenabled()  # refused at once
    async with app.run_test(size=(120, 24)) as pilot:
        tree = app.dashboard.tree
        await until(pilot, lambda: f"Deployment/{namespace}/api" in tree.keys(), timeout=30,
                    message="the app's own watch of the namespace")
        assert app.watcher is not early.watcher and app.store is not early.store
        await until(pilot, lambda: not early.watcher.reflectors, timeout=5, message="the early watcher to stop")
