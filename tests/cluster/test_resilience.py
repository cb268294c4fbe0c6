"""Watches survive an apiserver restart: "reconnecting" while it is down, then exactly kubectl's objects."""

from __future__ import annotations

import json
import time

import pytest

from devcluster import cluster as devcluster
from devcluster.testing import wait_for
from kdash.kube.client import connect
from kdash.kube.store import Store
from kdash.kube.watcher import Watcher


@pytest.fixture
def private_cluster(tmp_path):
    # Restarting the session's apiserver would disturb other tests: use a one-node cluster of our own.
    info = devcluster.start(state_dir=str(tmp_path / "cp"), nodes=1)
    yield info
    devcluster.stop(info)


def _kubectl_keys(info, kind: str) -> set[str]:
    items = json.loads(info.kubectl("get", kind, "-n", "default", "-o", "json"))["items"]
    return {i["metadata"]["name"] for i in items}


def _store_keys(store: Store, kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in store.list(kind, "default")}


def test_apiserver_restart_recovers_without_ghosts_or_gaps(private_cluster):
    info = private_cluster
    info.kubectl("create", "configmap", "before", "--from-literal=a=1", "-n", "default")
    connection = connect(info.kubeconfig, None)
    store = Store()
    watcher = Watcher(connection, "default", store=store, watch_timeout=30).start()
    try:
        wait_for(lambda: watcher.health() == "live" and "before" in _store_keys(store, "ConfigMap"),
                 message="initial list")
        devcluster.kill_process(info, "kube-apiserver")
        wait_for(lambda: watcher.health() != "live", timeout=30, message="health to leave 'live'")
        assert "reconnecting" in watcher.health()
        devcluster.start_process(info, "kube-apiserver")
        back = time.monotonic()
        # Changes made right after the restart must show up, and deleted objects must go.
        info.kubectl("create", "configmap", "after", "--from-literal=b=2", "-n", "default")
        info.kubectl("delete", "configmap", "before", "-n", "default")
        wait_for(lambda: watcher.health() == "live"
                 and _store_keys(store, "ConfigMap") == _kubectl_keys(info, "configmaps"),
                 timeout=30, interval=0.1, message="store to match kubectl after the restart")
        recovery = time.monotonic() - back
        assert "before" not in _store_keys(store, "ConfigMap")
        assert recovery < 12, f"recovered in {recovery:.1f} s"
        print(f"recovery after apiserver restart: {recovery:.2f} s")
    finally:
        assert watcher.stop(timeout=2.0)
        connection.close()
