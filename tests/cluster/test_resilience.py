"""Watches survive an apiserver restart: "reconnecting" while it is down, then exactly kubectl's objects."""

from __future__ import annotations

import base64
import json
import time
import urllib.request

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


def _etcd_url(info) -> str:
    argv = info.argv["etcd"]
    return argv[argv.index("--listen-client-urls") + 1]


def _etcd_post(info, path: str, body: dict) -> dict:
    # etcd 3.4's gRPC gateway: no etcdctl needed (Debian ships it in another package).
    request = urllib.request.Request(_etcd_url(info) + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _compact(info) -> int:
    revision = int(_etcd_post(info, "/v3/kv/range", {"key": base64.b64encode(b"/").decode()})
                   ["header"]["revision"])
    _etcd_post(info, "/v3/kv/compaction", {"revision": str(revision), "physical": True})
    return revision


def test_etcd_compaction_neither_breaks_the_watch_nor_a_resume_after_a_restart(private_cluster):
    info = private_cluster
    for i in range(3):
        info.kubectl("create", "configmap", f"old-{i}", "--from-literal=a=1", "-n", "default")
    connection = connect(info.kubeconfig, None)
    store = Store()
    # Short watches, so the reflector resumes from its resourceVersion several times below.
    watcher = Watcher(connection, "default", store=store, watch_timeout=3).start()
    try:
        wait_for(lambda: watcher.health() == "live" and {"old-0", "old-1", "old-2"} <= _store_keys(store, "ConfigMap"),
                 message="initial list")
        # History the watcher has seen, then compacted away under it.
        info.kubectl("delete", "configmap", "old-0", "-n", "default")
        info.kubectl("create", "secret", "generic", "bump", "--from-literal=x=1", "-n", "default")
        revision = _compact(info)
        info.kubectl("create", "configmap", "after-compaction", "--from-literal=b=2", "-n", "default")
        wait_for(lambda: _store_keys(store, "ConfigMap") == _kubectl_keys(info, "configmaps"),
                 timeout=30, message="store to match kubectl after the compaction")
        time.sleep(4)  # at least one watch ended and resumed from a pre-compaction resourceVersion
        info.kubectl("delete", "configmap", "old-1", "-n", "default")
        wait_for(lambda: watcher.health() == "live"
                 and _store_keys(store, "ConfigMap") == _kubectl_keys(info, "configmaps"),
                 timeout=30, message="store to match kubectl after a resumed watch")
        # A restarted apiserver builds its watch cache from the compacted etcd: resuming from an
        # old resourceVersion gets 410 or an error, and the relist must leave no ghosts.
        devcluster.kill_process(info, "kube-apiserver")
        assert _compact(info) >= revision
        devcluster.start_process(info, "kube-apiserver")
        back = time.monotonic()
        info.kubectl("delete", "configmap", "old-2", "-n", "default")
        info.kubectl("create", "configmap", "after-restart", "--from-literal=c=3", "-n", "default")
        wait_for(lambda: watcher.health() == "live"
                 and _store_keys(store, "ConfigMap") == _kubectl_keys(info, "configmaps"),
                 timeout=30, interval=0.1, message="store to match kubectl after restart + compaction")
        recovery = time.monotonic() - back
        assert {"old-0", "old-1", "old-2"}.isdisjoint(_store_keys(store, "ConfigMap"))
        assert {"after-compaction", "after-restart"} <= _store_keys(store, "ConfigMap")
        assert recovery < 12, f"recovered in {recovery:.1f} s"  # ~0.3 s here; slack for a loaded CI
        print(f"recovery after compaction + apiserver restart: {recovery:.2f} s")
    finally:
        assert watcher.stop(timeout=2.0)
        connection.close()
