"""`-n a,b`: one watch (and one LIST) per named namespace, so a user allowed only there gets a working view."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from argparse import Namespace

import pytest
from textual.widgets import OptionList

from devcluster.testing import service_account_kubeconfig, wait_for
from kdash.app import make_app
from kdash.config import Settings
from kdash.kube.client import connect
from kdash.kube.watcher import Watcher
from kdash.screens.modals import PickScreen
from kdash.widgets.status import HeaderLine
from tests.ui.pilot_helpers import live_app, until

# Reads everything in a namespace it is bound in; nothing anywhere else, nothing cluster-wide.
READER = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules:
- apiGroups: ["", apps, batch, autoscaling, networking.k8s.io, discovery.k8s.io]
  resources: ["*"]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {kind: ServiceAccount, name: viewer, namespace: HOME}
"""


@pytest.fixture
def subset(cluster, kubectl, namespace, tmp_path):
    """(kubeconfig of a user who may read only namespaces a and b, a, b, c); app-<x> runs in each."""
    a, b, c = namespace, f"{namespace}-b", f"{namespace}-c"
    for extra in (b, c):
        kubectl("create", "namespace", extra)
    path = service_account_kubeconfig(cluster, kubectl, a, tmp_path / "viewer")
    for bound in (a, b):
        kubectl("apply", "-n", bound, "-f", "-", input=textwrap.dedent(READER).replace("HOME", a))
    for ns, name in ((a, "app-a"), (b, "app-b"), (c, "app-c")):
        kubectl("create", "deployment", name, "--image=nginx:1.14.2", "-n", ns)
    yield path, a, b, c
    for extra in (b, c):
        kubectl("delete", "namespace", extra, "--wait=false", check=False)


def test_tree_lists_each_named_namespace(subset):
    path, a, b, c = subset
    result = subprocess.run([sys.executable, "-m", "kdash", "--kubeconfig", path, "tree", "-n", f"{a},{b}",
                             "-o", "json"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # Nodes are cluster-scoped: a Role cannot grant them, and the DaemonSet tree says so.
    refused = [line for line in result.stderr.splitlines() if "cannot list" in line]
    assert all(line.startswith("kdash: cannot list nodes ") for line in refused), result.stderr
    data = json.loads(result.stdout)
    assert data["namespace"] == f"{a},{b}"
    assert {(d["namespace"], d["name"]) for d in data["workloads"]} == {(a, "app-a"), (b, "app-b")}


def test_watcher_runs_one_watch_per_named_namespace(subset):
    path, a, b, c = subset
    connection = connect(path, None)
    watcher = Watcher(connection, f"{a},{b}").start()
    try:
        wait_for(lambda: {(d["metadata"]["namespace"], d["metadata"]["name"])
                          for d in watcher.store.list("Deployment")} == {(a, "app-a"), (b, "app-b")},
                 message="the deployments of a and b")
        namespaced = [r for r in watcher.reflectors if r.kind.namespaced]
        assert {r.namespace for r in namespaced} == {a, b}
        assert len(namespaced) == 2 * len({r.kind.name for r in namespaced})
        # Every namespaced watch is allowed and live: none asked outside a and b.
        states = watcher.store.states()
        wait_for(lambda: all(watcher.store.state(r.kind.name, r.namespace) and
                             watcher.store.state(r.kind.name, r.namespace).state == "live" for r in namespaced),
                 message="every namespaced watch live")
        assert not any(ns not in (a, b) for (kind, ns) in states if kind not in ("Namespace", "Node"))
    finally:
        watcher.stop()
        connection.close()


async def test_dashboard_watches_the_subset_and_says_so(subset):
    path, a, b, c = subset
    args = Namespace(kubeconfig=path, context=None, namespace=f"{a},{b}", all_namespaces=False,
                     readonly=False, theme=None)
    app = make_app(args, settings=Settings())
    async with app.run_test(size=(160, 30)) as pilot:
        screen = await until(pilot, lambda: app.screen if app.screen.query(HeaderLine) else None, message="dashboard")
        for ns, name in ((a, "app-a"), (b, "app-b")):
            await until(pilot, lambda: screen.tree.node(f"Deployment/{ns}/{name}"), message=name)
        assert screen.tree.node(f"Deployment/{c}/app-c") is None
        header = screen.query_one(HeaderLine)
        text = "".join(s.text for s in header.render_lines(header.region.reset_offset))
        assert f"{a},{b}" in text
        assert "not found" not in text and "forbidden: deployments" not in text


PATCHER = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: patcher}
rules:
- apiGroups: [apps]
  resources: [deployments]
  verbs: [patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: patcher}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: patcher}
subjects:
- {kind: ServiceAccount, name: viewer, namespace: HOME}
"""


async def test_a_write_is_offered_for_a_subset_only_where_each_namespace_allows_it(subset, kubectl):
    path, a, b, c = subset
    kubectl("apply", "-n", a, "-f", "-", input=textwrap.dedent(PATCHER).replace("HOME", a))

    async def denied(namespace: str) -> set[str]:
        args = Namespace(kubeconfig=path, context=None, namespace=namespace, all_namespaces=False,
                         readonly=False, theme=None)
        app = make_app(args, settings=Settings())
        async with app.run_test(size=(120, 30)) as pilot:
            return set(await until(pilot, lambda: app.denied, message="access check"))

    assert "restart" not in await denied(a)
    assert "restart" in await denied(f"{a},{b}")  # may not patch in b: not offered for the subset
    kubectl("apply", "-n", b, "-f", "-", input=textwrap.dedent(PATCHER).replace("HOME", a))
    assert "restart" not in await denied(f"{a},{b}")  # allowed in each: offered


async def test_namespace_picker_marks_several_with_space(subset, cluster):
    path, a, b, c = subset
    app = live_app(cluster, a)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await until(pilot, lambda: app.screen if app.screen.query(HeaderLine) else None, message="dashboard")
        await until(pilot, lambda: screen.tree.node(f"Deployment/{a}/app-a"), message="app-a")
        await until(pilot, lambda: app.store.get("Namespace", None, c), message="namespaces listed")
        await pilot.press("n")
        picker = await until(pilot, lambda: app.screen if isinstance(app.screen, PickScreen) else None,
                             message="namespace picker")
        options = picker.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        for name in (c, b):  # marked out of list order; the subset keeps the list's order
            options.highlighted = ids.index(name)
            await pilot.press("space")
        await pilot.press("enter")
        await until(pilot, lambda: app.namespace == f"{b},{c}", message="the subset watched")
        for ns, name in ((b, "app-b"), (c, "app-c")):
            await until(pilot, lambda: screen.tree.node(f"Deployment/{ns}/{name}"), message=name)
        assert screen.tree.node(f"Deployment/{a}/app-a") is None
        header = screen.query_one(HeaderLine)
        await until(pilot, lambda: f"{b},{c}" in "".join(s.text for s in header.render_lines(header.region.reset_offset)),
                    message="header names the subset")
