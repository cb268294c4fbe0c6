"""Shared fixtures: the real local control plane, kubectl, and a fresh namespace per test."""

from __future__ import annotations

import itertools
import os
import time
import uuid

import pytest

from devcluster import cluster as devcluster

# Pod records (kdash/core/records.py) fail loudly on a field their schema does not keep.
os.environ.setdefault("KDASH_STRICT_RECORDS", "1")
# Apps under test write their audit log (and other state) here, never into the user's own
# ~/.local/state/kdash: a test line there would sit forever in a hash-chained log.
_STATE = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"kdash-test-state-{os.getpid()}")
os.environ["XDG_STATE_HOME"] = _STATE


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/cluster/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def cluster():
    """One control plane for the whole run; KDASH_REUSE_CLUSTER=1 reuses `make cluster-up`'s."""
    if os.environ.get("KDASH_REUSE_CLUSTER"):
        info = devcluster.up()
        yield info
        return
    info = devcluster.start()
    try:
        yield info
    finally:
        devcluster.stop(info)


@pytest.fixture
def connection(cluster):
    """kdash's own API connection to the local cluster (admin kubeconfig), closed afterwards."""
    from kdash.kube.client import connect

    conn = connect(cluster.kubeconfig, None)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def kubectl(cluster):
    """kubectl("get", "pods", "-o", "json") -> stdout; raises ClusterError on failure."""
    return cluster.kubectl


_ns_counter = itertools.count()


@pytest.fixture
def namespace(cluster, request):
    """A fresh namespace for one test, deleted afterwards (without waiting for it to go)."""
    base = request.node.name.lower().replace("_", "-")
    name = "".join(c for c in base if c.isalnum() or c == "-")[:40].strip("-")
    name = f"t-{name}-{next(_ns_counter)}-{uuid.uuid4().hex[:4]}"
    cluster.kubectl("create", "namespace", name)
    # Pods need the namespace's default service account (and its token) before they can be created.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            sa = cluster.get_json(f"/api/v1/namespaces/{name}/serviceaccounts/default")
            if sa.get("secrets"):
                break
        except OSError:
            pass
        time.sleep(0.1)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)

