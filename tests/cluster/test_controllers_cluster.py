"""StatefulSets and DaemonSets on the real control plane: trees equal kubectl, undo equals kubectl's,
a partition rollout moves in stages, a node added later gets its daemon pod."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devcluster.testing import add_fake_node, wait_for
from kdash.actions import controllers, image, rollout, scale
from kdash.actions.safety import AuditLog, ReadOnlyError, WriteContext
from kdash.core.kinds import STATEFULSET
from kdash.errors import KdashError
from kdash.headless import build_trees, collect


@pytest.fixture
def ctx(connection, tmp_path) -> WriteContext:
    return WriteContext.for_connection(connection, audit=AuditLog(tmp_path / "audit.log"))


def statefulset(name: str, image_name: str, replicas: int = 3, partition: int | None = None,
                claim_class: str | None = None) -> str:
    labels = {"app": name}
    spec: dict[str, Any] = {
        "serviceName": name, "replicas": replicas, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image_name}]}},
    }
    if partition is not None:
        spec["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}}
    if claim_class:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": claim_class,
            "resources": {"requests": {"storage": "1Gi"}}}}]
        spec["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return json.dumps({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "labels": labels},
                       "spec": spec})


def daemonset(name: str, image_name: str, pool: str) -> str:
    """A DaemonSet only for the nodes of `pool` (nodes this test adds, tainted so nothing else lands there)."""
    labels = {"app": name}
    return json.dumps({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "labels": labels},
                       "spec": {"selector": {"matchLabels": labels}, "template": {
                           "metadata": {"labels": labels},
                           "spec": {"nodeSelector": {"kdash.io/pool": pool},
                                    "tolerations": [{"key": "kdash.io/pool", "operator": "Exists"}],
                                    "containers": [{"name": "agent", "image": image_name}]}}}})


def tree(connection, namespace: str, name: str) -> dict[str, Any]:
    """The tree kdash prints (`kdash tree NAME`) from a fresh LIST, by node key."""
    kinds = ("StatefulSet", "DaemonSet", "Pod", "PersistentVolumeClaim", "ControllerRevision", "Node")
    objs, failed = collect(connection.api_client, namespace, kinds)
    assert not failed
    return build_trees([name], objs)[name]


def rollout_status(kubectl, namespace: str, what: str) -> None:
    kubectl("rollout", "status", what, "-n", namespace, "--timeout=90s", timeout=100)


def kubectl_json(kubectl, namespace: str, what: str) -> dict[str, Any]:
    return json.loads(kubectl("get", what, "-n", namespace, "-o", "json"))


def test_statefulset_tree_equals_kubectl(connection, kubectl, namespace):
    kubectl("apply", "-n", namespace, "-f", "-", input=statefulset("web", "nginx:1.20"))
    rollout_status(kubectl, namespace, "sts/web")
    (node,) = tree(connection, namespace, "statefulsets")
    ready = kubectl("get", "sts/web", "-n", namespace, "--no-headers").split()[1]
    status = kubectl_json(kubectl, namespace, "sts/web")["status"]
    assert node.columns["ready"] == ready == "3/3"
    assert node.columns["up_to_date"] == str(status["updatedReplicas"])
    assert node.columns["current"] == str(status["currentReplicas"])
    assert node.columns["update_revision"] == status["updateRevision"]
    assert [c.name for c in node.children] == ["web-0", "web-1", "web-2"]
    pods = {p["metadata"]["name"]: p for p in kubectl_json(kubectl, namespace, "pods")["items"]}
    for child in node.children:
        assert child.columns["node"] == pods[child.name]["spec"]["nodeName"]
        assert child.columns["status"] == "Running" and child.columns["revision"] == "1"


def test_a_pod_pending_on_an_unbound_claim_says_so(connection, kubectl, namespace):
    kubectl("apply", "-n", namespace, "-f", "-", input=statefulset("db", "postgres:13", 2, claim_class="none-here"))
    wait_for(lambda: kubectl("get", "pvc/data-db-0", "-n", namespace, "--no-headers", check=False).split()[1:2]
             == ["Pending"], message="claim data-db-0 Pending")
    wait_for(lambda: "unbound" in kubectl("get", "pod/db-0", "-n", namespace, "-o",
                                          "jsonpath={.status.conditions[0].message}", check=False),
             message="db-0 unschedulable on its claim")
    (node,) = tree(connection, namespace, "statefulsets")
    pod, missing = node.children
    assert pod.name == "db-0" and pod.columns["status"] == "Pending"
    assert pod.columns["waiting"] == "unbound claim data-db-0 (Pending)"
    assert pod.children[0].label == "pvc data-db-0  Pending  no volume bound (class none-here)"
    assert missing.label == "pod db-1  no pod: waits for db-0 to be Ready"
    assert kubectl("get", "pod/db-1", "-n", namespace, check=False) == ""


def test_partition_rollout_moves_in_stages(connection, kubectl, namespace, ctx):
    kubectl("apply", "-n", namespace, "-f", "-", input=statefulset("web", "nginx:1.20", partition=3))
    rollout_status(kubectl, namespace, "sts/web")
    image.set_image(ctx, (namespace, "web"), "main", "nginx:1.21", kind=STATEFULSET)

    def images() -> list[str]:
        pods = kubectl_json(kubectl, namespace, "pods")["items"]
        by_name = {p["metadata"]["name"]: p for p in pods if p["status"].get("phase") == "Running"
                   and not p["metadata"].get("deletionTimestamp")}
        return [by_name[n]["spec"]["containers"][0]["image"] if n in by_name else "?" for n in ("web-0", "web-1",
                                                                                             "web-2")]

    wait_for(lambda: kubectl_json(kubectl, namespace, "sts/web")["status"].get("observedGeneration") == 2)
    assert images() == ["nginx:1.20"] * 3  # partition 3 holds every ordinal
    (node,) = tree(connection, namespace, "statefulsets")
    assert node.columns["state"] == "staged" and all("held by partition 3" in c.label for c in node.children)

    for step, expected in ((2, ["nginx:1.20", "nginx:1.20", "nginx:1.21"]),
                           (1, ["nginx:1.20", "nginx:1.21", "nginx:1.21"]), (0, ["nginx:1.21"] * 3)):
        message = controllers.set_partition(ctx, namespace, "web", step, expected_partition=step + 1)
        assert f"from {step + 1} to {step}" in message
        wait_for(lambda expected=expected: images() == expected, timeout=90, message=f"partition {step}")
        rollout_status(kubectl, namespace, "sts/web")
        (node,) = tree(connection, namespace, "statefulsets")
        assert node.columns["partition"] == str(step)
        assert node.columns["up_to_date"] == str(3 - step)
    assert node.columns["state"] == "complete"
    with pytest.raises(KdashError, match="now has partition 0, not 2"):
        controllers.set_partition(ctx, namespace, "web", 1, expected_partition=2)
    with pytest.raises(KdashError, match="more than the 3 replicas"):
        controllers.set_partition(ctx, namespace, "web", 4)


def _template(kubectl, namespace: str, what: str) -> dict[str, Any]:
    return kubectl_json(kubectl, namespace, what)["spec"]["template"]


def test_statefulset_undo_equals_kubectl_rollout_undo(connection, kubectl, namespace, ctx):
    for name in ("mine", "twin"):
        kubectl("apply", "-n", namespace, "-f", "-", input=statefulset(name, "nginx:1.20", 2))
        rollout_status(kubectl, namespace, f"sts/{name}")
        kubectl("set", "image", f"sts/{name}", "main=nginx:1.21", "-n", namespace)
        rollout_status(kubectl, namespace, f"sts/{name}")
        kubectl("set", "env", f"sts/{name}", "MODE=fast", "-n", namespace)
        rollout_status(kubectl, namespace, f"sts/{name}")
    preview = controllers.undo(ctx, "StatefulSet", namespace, "mine", 1, dry_run=True)
    assert preview == f"dry run: StatefulSet {namespace}/mine would go back to revision 1 (nginx:1.20)"
    assert _template(kubectl, namespace, "sts/mine")["spec"]["containers"][0]["image"] == "nginx:1.21"
    rows = controllers.history(connection.api_client, "StatefulSet", namespace, "mine")
    assert [r.revision for r in rows] == [3, 2, 1] and rows[0].is_current
    message = controllers.undo(ctx, "StatefulSet", namespace, "mine", 1, revision_uid=rows[2].uid)
    assert message == f"rolled StatefulSet {namespace}/mine back to revision 1 (nginx:1.20)"
    kubectl("rollout", "undo", "sts/twin", "--to-revision=1", "-n", namespace)
    mine, twin = (_template(kubectl, namespace, f"sts/{n}") for n in ("mine", "twin"))
    for t in (mine, twin):
        t["metadata"]["labels"].pop("app")
    assert mine == twin
    assert "env" not in mine["spec"]["containers"][0]
    rollout_status(kubectl, namespace, "sts/mine")
    history = kubectl("rollout", "history", "sts/mine", "-n", namespace)
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3", "4"]
    with pytest.raises(KdashError, match="already runs revision 4"):
        controllers.undo(ctx, "StatefulSet", namespace, "mine", 4)
    with pytest.raises(KdashError, match="not found"):
        controllers.undo(ctx, "StatefulSet", namespace, "mine", 1)


def test_statefulset_scale_restart_and_readonly(connection, kubectl, namespace, ctx, tmp_path):
    kubectl("apply", "-n", namespace, "-f", "-", input=statefulset("web", "nginx:1.20", 1))
    rollout_status(kubectl, namespace, "sts/web")
    assert "from 1 to 2" in scale.scale(ctx, namespace, "web", 2, expected_replicas=1, kind=STATEFULSET)
    rollout_status(kubectl, namespace, "sts/web")
    assert kubectl("get", "sts/web", "-n", namespace, "--no-headers").split()[1] == "2/2"
    rollout.restart(ctx, namespace, "web", kind=STATEFULSET)
    annotations = _template(kubectl, namespace, "sts/web")["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    readonly = WriteContext.for_connection(connection, readonly=True, audit=AuditLog(tmp_path / "ro.log"))
    with pytest.raises(ReadOnlyError):
        controllers.set_partition(readonly, namespace, "web", 1)
    with pytest.raises(ReadOnlyError):
        controllers.undo(readonly, "StatefulSet", namespace, "web")
    kubectl("autoscale", "sts/web", "--min=1", "--max=3", "-n", namespace)
    assert scale.hpa_for(connection.api_client, namespace, "web", "StatefulSet") == "web"
    assert scale.hpa_for(connection.api_client, namespace, "web") is None


def test_daemonset_tree_undo_and_a_node_added_later(connection, kubectl, namespace, ctx):
    pool = namespace
    first, later = f"{namespace}-a", f"{namespace}-b"
    # Tainted for the pool: no other test's pods land on these nodes.
    taints = [{"key": "kdash.io/pool", "value": pool, "effect": "NoSchedule"}]
    try:
        add_fake_node(kubectl, first, {"kdash.io/pool": pool}, taints)
        kubectl("apply", "-n", namespace, "-f", "-", input=daemonset("agent", "fluent/fluent-bit:1.8", pool))
        rollout_status(kubectl, namespace, "ds/agent")
        (node,) = tree(connection, namespace, "daemonsets")
        columns = kubectl("get", "ds/agent", "-n", namespace, "--no-headers").split()[1:6]
        assert [node.columns[k] for k in ("desired", "current", "ready", "up_to_date", "available")] == columns
        assert columns == ["1"] * 5
        assert [c.columns["for_node"] for c in node.children] == [first]

        add_fake_node(kubectl, later, {"kdash.io/pool": pool}, taints)
        # Once Ready the new node shows: its pod, or the lack of one.
        wait_for(lambda: later in {c.columns.get("for_node")
                                   for c in tree(connection, namespace, "daemonsets")[0].children},
                 timeout=60, message="the node added later in the tree")
        wait_for(lambda: kubectl("get", "ds/agent", "-n", namespace, "--no-headers").split()[1:6] == ["2"] * 5,
                 timeout=90, message="a pod on the node added later")
        (node,) = tree(connection, namespace, "daemonsets")
        on_later = next(c for c in node.children if c.columns.get("for_node") == later)
        assert on_later.kind == "Pod" and on_later.columns["node"] == later and on_later.columns["status"] == "Running"

        image.set_image(ctx, (namespace, "agent"), "agent", "fluent/fluent-bit:1.9", kind=controllers.DAEMONSET)
        rollout_status(kubectl, namespace, "ds/agent")
        kubectl("apply", "-n", namespace, "-f", "-", input=daemonset("twin", "fluent/fluent-bit:1.8", pool))
        rollout_status(kubectl, namespace, "ds/twin")
        kubectl("set", "image", "ds/twin", "agent=fluent/fluent-bit:1.9", "-n", namespace)
        rollout_status(kubectl, namespace, "ds/twin")
        assert "back to revision 1" in controllers.undo(ctx, "DaemonSet", namespace, "agent")
        kubectl("rollout", "undo", "ds/twin", "-n", namespace)
        mine, twin = (_template(kubectl, namespace, f"ds/{n}") for n in ("agent", "twin"))
        for t in (mine, twin):
            t["metadata"]["labels"].pop("app")
        assert mine == twin and mine["spec"]["containers"][0]["image"] == "fluent/fluent-bit:1.8"
        rollout_status(kubectl, namespace, "ds/agent")
        node = next(n for n in tree(connection, namespace, "daemonsets") if n.name == "agent")
        assert node.columns["revision"] == "3" and node.columns["state"] == "complete"
    finally:
        for name in (first, later):
            kubectl("delete", "node", name, "--ignore-not-found", check=False)
