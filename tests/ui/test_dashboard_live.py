"""Pilot tests of the dashboard against the real control plane: a live rolling update."""

from __future__ import annotations

import asyncio
import json

import pytest

from kdash.screens.dashboard import DashboardScreen
from kdash.widgets.status import DetailsPane
from tests.ui.pilot_helpers import live_app, until

pytestmark = pytest.mark.cluster


def _deployment(name: str, image: str, replicas: int = 2) -> str:
    labels = {"app": name}
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": labels,
                                           "annotations": {"kdash.io/fake-ready-delay": "1"}},
                              "spec": {"containers": [{"name": "main", "image": image}]}}},
    })


def _app(cluster, namespace):
    return live_app(cluster, namespace)


def _diagnosis(app, tree) -> str:
    """What the store and the watches held when the tree disagreed with the test."""
    store = app.store
    return (f"tree {sorted(tree.keys())}; store ReplicaSets {store.keys('ReplicaSet')}, "
            f"Pods {store.keys('Pod')}; states {store.states()}; health {app.watch_health()!r}")


def _kube_keys(kubectl, namespace: str) -> set[str]:
    """The keys the workload tree must show, computed from kubectl's view of the cluster."""
    items = json.loads(kubectl("get", "deploy,rs,pods", "-n", namespace, "-o", "json"))["items"]
    return {f"{o['kind']}/{namespace}/{o['metadata']['name']}" for o in items}


async def test_rolling_update_appears_live_and_matches_kubectl(cluster, kubectl, namespace):
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("web", "nginx:1.14.2"))
    app = _app(cluster, namespace)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        tree = screen.tree

        def pods_ready():
            pods = [k for k in tree.keys() if k.startswith("Pod/")]
            return len(pods) == 2 and all(tree.node(k).columns.get("ready") == "1/1" for k in pods)

        await until(pilot, pods_ready, message="two ready pods in the tree")
        assert f"Deployment/{namespace}/web" in tree.keys()
        # Put the cursor on the Deployment: it must stay there through the rollout.
        assert tree.select_key(f"Deployment/{namespace}/web")
        # The ReplicaSet's event may reach the store a moment after its Pods' (separate watches,
        # each behind the apiserver's watch cache); one missing for longer is what this catches.
        try:
            old_rs = await until(pilot, lambda: {k for k in tree.keys() if k.startswith("ReplicaSet/")},
                                 timeout=5, message="the ReplicaSet of the ready Pods")
        except AssertionError as exc:
            raise AssertionError(_diagnosis(app, tree)) from exc
        assert len(old_rs) == 1, _diagnosis(app, tree)

        await asyncio.to_thread(kubectl, "set", "image", "deployment/web", "main=nginx:1.21.0", "-n", namespace)
        new_rs = await until(pilot, lambda: {k for k in tree.keys() if k.startswith("ReplicaSet/")} - old_rs,
                              message="the new ReplicaSet to appear")
        assert len(new_rs) == 1
        await asyncio.to_thread(kubectl, "rollout", "status", "deployment/web", "-n", namespace,
                                "--timeout=90s", timeout=100)

        def settled():
            # Old pods linger as Terminating for a moment; wait until kubectl shows only the new two.
            want = _kube_keys(kubectl, namespace)
            two_pods = len([k for k in want if k.startswith("Pod/")]) == 2
            return two_pods and set(tree.keys()) == want and want

        want = await until(pilot, settled, message="tree to match kubectl")
        pods = [k for k in want if k.startswith("Pod/")]
        assert len(pods) == 2
        new_key = next(iter(new_rs))
        new_node = tree.node(new_key)
        assert "nginx:1.21.0" in new_node.label
        # Newest ReplicaSet first under the Deployment.
        deployment = tree.node(f"Deployment/{namespace}/web")
        assert deployment.children[0].key == new_key
        assert all(p.key.startswith("Pod/") for p in deployment.children[0].children)
        assert tree.selected is not None and tree.selected.key == f"Deployment/{namespace}/web"
        assert app.watch_health() == "live"
        assert tree.patches > 1


async def test_service_view_shows_endpoint_readiness(cluster, kubectl, namespace):
    manifest = {
        "apiVersion": "v1", "kind": "List", "items": [
            json.loads(_deployment("api", "nginx:1.14.2", replicas=1)),
            {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "api-stuck", "labels": {"app": "api"},
                          "annotations": {"kdash.io/fake-never-ready": "true"}},
             "spec": {"containers": [{"name": "main", "image": "nginx:1.14.2"}]}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
             "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "protocol": "TCP"}]}},
        ]}
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    app = _app(cluster, namespace)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        tree = app.screen.tree
        svc_key = f"Service/{namespace}/api"
        stuck_key = f"{svc_key}/Pod/{namespace}/api-stuck"

        def both_pods():
            node = tree.node(svc_key)
            return node is not None and len(node.children) == 2 and tree.node(stuck_key) is not None

        await until(pilot, both_pods, message="service with its two pods")

        def readiness_settled():
            stuck = tree.node(stuck_key)
            others = [c for c in tree.node(svc_key).children if c.key != stuck_key]
            return (stuck.columns.get("endpoint") == "not ready"
                    and others[0].columns.get("endpoint") == "ready")

        await until(pilot, readiness_settled, message="endpoint readiness in the tree")
        assert "not ready" in tree.node(stuck_key).label
        assert "ClusterIP" in tree.node(svc_key).label


async def test_details_show_live_events_of_the_selected_object_only(cluster, kubectl, namespace):
    await asyncio.to_thread(kubectl, "apply", "-n", namespace, "-f", "-", input=_deployment("ev", "nginx:1.14.2"))
    app = _app(cluster, namespace)
    async with app.run_test(size=(160, 45)) as pilot:
        tree = app.screen.tree
        details = app.screen.query_one(DetailsPane)

        def reasons() -> set[str]:
            shown = details._shown
            return {row[1] for row in shown[2]} if shown else set()

        deployment = f"Deployment/{namespace}/ev"
        await until(pilot, lambda: tree.node(deployment) and tree.select_key(deployment), message="the Deployment")
        await until(pilot, lambda: "ScalingReplicaSet" in reasons(), message="the Deployment's events")
        deployment_uid = app.store.get("Deployment", namespace, "ev")["metadata"]["uid"]
        # Only the selected object's events are watched, not every Event of the namespace.
        assert {e["involvedObject"]["uid"] for e in app.store.list("Event")} == {deployment_uid}

        pod = await until(pilot, lambda: next((k for k in tree.keys() if k.startswith("Pod/")), None),
                          message="a pod")
        assert tree.select_key(pod)
        await until(pilot, lambda: "Scheduled" in reasons() and "ScalingReplicaSet" not in reasons(),
                    message="the pod's events instead")
        pod_uid = app.store.get("Pod", namespace, pod.rsplit("/", 1)[1])["metadata"]["uid"]
        assert {e["involvedObject"]["uid"] for e in app.store.list("Event")} == {pod_uid}
        # Live: a new event about the selected Deployment shows without moving the cursor.
        assert tree.select_key(deployment)
        await until(pilot, lambda: "ScalingReplicaSet" in reasons(), message="back on the Deployment")
        await asyncio.to_thread(kubectl, "scale", "deployment/ev", "--replicas=3", "-n", namespace)
        await until(pilot, lambda: any("to 3" in row[3] for row in details._shown[2]),
                    message="the scale-up event")
        assert app.watch_health() == "live"
