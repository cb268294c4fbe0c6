"""Scale, set image, undo, restart and delete pod against the real control plane; kubectl agrees."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devcluster.testing import wait_for
from kdash.actions import apply, delete, image, rollout, scale
from kdash.actions.audit import verify_file
from kdash.actions.safety import AuditLog, ReadOnlyError, WriteContext
from kdash.errors import KdashError
from kdash.kube.client import get_json


@pytest.fixture
def audit(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "audit.log")


@pytest.fixture
def ctx(connection, audit) -> WriteContext:
    return WriteContext.for_connection(connection, audit=audit)


def create_deployment(kubectl, namespace: str, image_name: str = "nginx:1.25", replicas: int = 2,
                      init_image: str | None = None, pod_annotations: dict[str, str] | None = None) -> None:
    pod_spec: dict[str, Any] = {"containers": [{"name": "web", "image": image_name}]}
    if init_image:
        pod_spec["initContainers"] = [{"name": "setup", "image": init_image}]
    manifest = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}, "annotations": pod_annotations or {}},
                              "spec": pod_spec}},
    }
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    wait_rolled_out(kubectl, namespace)


def wait_rolled_out(kubectl, namespace: str) -> None:
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)


def kubectl_json(kubectl, namespace: str, *what: str) -> dict[str, Any]:
    return json.loads(kubectl("get", *what, "-n", namespace, "-o", "json"))


def template_image(kubectl, namespace: str, field: str = "containers") -> str:
    return kubectl("get", "deployment/web", "-n", namespace, "-o",
                   f"jsonpath={{.spec.template.spec.{field}[0].image}}")


def kubectl_revisions(kubectl, namespace: str) -> set[int]:
    """Revision numbers printed by `kubectl rollout history`."""
    lines = kubectl("rollout", "history", "deployment/web", "-n", namespace).splitlines()
    return {int(line.split()[0]) for line in lines if line.strip() and line.split()[0].isdigit()}


def replicaset_images(kubectl, namespace: str) -> dict[int, str]:
    """revision → image of the web container, for every ReplicaSet."""
    items = kubectl_json(kubectl, namespace, "replicasets")["items"]
    return {int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]):
            rs["spec"]["template"]["spec"]["containers"][0]["image"] for rs in items}


def running_pod_images(kubectl, namespace: str) -> list[str]:
    pods = kubectl_json(kubectl, namespace, "pods")["items"]
    return sorted(p["spec"]["containers"][0]["image"] for p in pods
                  if not p["metadata"].get("deletionTimestamp"))


# -- scale ---------------------------------------------------------------------------------------


def test_scale_is_what_kubectl_sees(ctx, connection, kubectl, namespace, audit):
    create_deployment(kubectl, namespace)
    assert scale.get_scale(connection.api_client, namespace, "web") == 2
    message = scale.scale(ctx, namespace, "web", 4)
    assert message == f"scaled Deployment {namespace}/web from 2 to 4 replicas"
    assert kubectl("get", "deployment/web", "-n", namespace, "-o", "jsonpath={.spec.replicas}") == "4"
    wait_rolled_out(kubectl, namespace)
    wait_for(lambda: len(running_pod_images(kubectl, namespace)) == 4, message="4 pods")
    assert scale.get_scale(connection.api_client, namespace, "web") == 4
    assert [(l["verb"], l["object"], l["result"], l["detail"]) for l in audit.lines()] == [
        ("scale", f"Deployment/{namespace}/web", "ok", "replicas 2 -> 4")]
    scale.scale(ctx, namespace, "web", 3)
    verdict = verify_file(audit.path)
    assert verdict.intact and verdict.lines == 2, verdict.summary(audit.path)


def test_scale_with_a_stale_resource_version_is_refused(ctx, connection, kubectl, namespace, audit):
    create_deployment(kubectl, namespace)
    seen = scale.read_scale(connection.api_client, namespace, "web")["metadata"]["resourceVersion"]
    kubectl("scale", "deployment/web", "--replicas=3", "-n", namespace)
    with pytest.raises(KdashError) as info:
        scale.scale(ctx, namespace, "web", 5, expected_resource_version=seen)
    assert info.value.title == "Changed meanwhile"
    assert "reload and retry" in info.value.message
    assert kubectl("get", "deployment/web", "-n", namespace, "-o", "jsonpath={.spec.replicas}") == "3"
    assert audit.lines()[-1]["result"] == "error"


def test_scale_to_zero_and_hpa_warning(ctx, connection, kubectl, namespace):
    create_deployment(kubectl, namespace, replicas=1)
    assert scale.hpa_for(connection.api_client, namespace, "web") is None
    kubectl("autoscale", "deployment/web", "--min=1", "--max=3", "--name=web-hpa", "-n", namespace)
    assert scale.hpa_for(connection.api_client, namespace, "web") == "web-hpa"
    assert scale.hpa_for(connection.api_client, namespace, "other") is None
    scale.scale(ctx, namespace, "web", 0)
    wait_for(lambda: running_pod_images(kubectl, namespace) == [], message="no pods")


def test_scale_of_a_missing_deployment_is_a_clear_error(ctx, namespace):
    with pytest.raises(KdashError) as info:
        scale.scale(ctx, namespace, "ghost", 2)
    assert info.value.title == "Not found" and "ghost" in info.value.message


# -- set image -----------------------------------------------------------------------------------


def test_set_image_rolls_out_a_new_replicaset(ctx, kubectl, namespace, audit):
    create_deployment(kubectl, namespace)
    message = image.set_image(ctx, (namespace, "web"), "web", "nginx:1.26")
    assert message == f"set container web of Deployment {namespace}/web to nginx:1.26"
    assert template_image(kubectl, namespace) == "nginx:1.26"
    wait_rolled_out(kubectl, namespace)
    assert replicaset_images(kubectl, namespace) == {1: "nginx:1.25", 2: "nginx:1.26"}
    wait_for(lambda: running_pod_images(kubectl, namespace) == ["nginx:1.26"] * 2, message="new pods")
    assert audit.lines()[-1]["detail"] == "web: nginx:1.25 -> nginx:1.26"


def test_set_image_of_an_init_container(ctx, connection, kubectl, namespace):
    create_deployment(kubectl, namespace, init_image="busybox:1.35")
    obj = get_json(connection.api_client, f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    assert [(c.name, c.init) for c in image.containers(obj)] == [("web", False), ("setup", True)]
    image.set_image(ctx, obj, "setup", "busybox:1.36")
    assert template_image(kubectl, namespace, "initContainers") == "busybox:1.36"
    assert template_image(kubectl, namespace) == "nginx:1.25"  # the main container kept its image
    wait_rolled_out(kubectl, namespace)
    assert len(replicaset_images(kubectl, namespace)) == 2


def test_set_image_on_a_stale_object_changes_nothing(ctx, connection, kubectl, namespace):
    create_deployment(kubectl, namespace)
    stale = get_json(connection.api_client, f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    kubectl("set", "image", "deployment/web", "web=nginx:1.27", "-n", namespace)
    with pytest.raises(KdashError) as info:
        image.set_image(ctx, stale, "web", "nginx:1.26")
    assert info.value.title == "Changed meanwhile"
    assert template_image(kubectl, namespace) == "nginx:1.27"


def test_set_image_unknown_container_changes_nothing(ctx, kubectl, namespace):
    create_deployment(kubectl, namespace)
    generation = kubectl("get", "deployment/web", "-n", namespace, "-o", "jsonpath={.metadata.generation}")
    with pytest.raises(KdashError, match="has no container 'nope'"):
        image.set_image(ctx, (namespace, "web"), "nope", "nginx:1.26")
    assert kubectl("get", "deployment/web", "-n", namespace, "-o",
                   "jsonpath={.metadata.generation}") == generation


# -- undo ----------------------------------------------------------------------------------------


def test_undo_to_previous_then_to_a_chosen_revision(ctx, connection, kubectl, namespace, audit):
    create_deployment(kubectl, namespace, image_name="nginx:1.24")
    for tag in ("1.25", "1.26"):
        kubectl("set", "image", "deployment/web", f"web=nginx:{tag}", "-n", namespace)
        wait_rolled_out(kubectl, namespace)
    history = rollout.history(connection.api_client, namespace, "web")
    assert [(r.revision, r.images, r.is_current) for r in history] == [
        (3, ("nginx:1.26",), True), (2, ("nginx:1.25",), False), (1, ("nginx:1.24",), False)]

    message = rollout.undo(ctx, namespace, "web")
    assert message == f"rolled Deployment {namespace}/web back to revision 2 (nginx:1.25)"
    assert template_image(kubectl, namespace) == "nginx:1.25"
    wait_rolled_out(kubectl, namespace)
    # Like kubectl: the old ReplicaSet is reused and becomes revision 4.
    assert replicaset_images(kubectl, namespace) == {1: "nginx:1.24", 3: "nginx:1.26", 4: "nginx:1.25"}

    rollout.undo(ctx, namespace, "web", to_revision=1)
    assert template_image(kubectl, namespace) == "nginx:1.24"
    wait_rolled_out(kubectl, namespace)
    wait_for(lambda: running_pod_images(kubectl, namespace) == ["nginx:1.24"] * 2, message="rev 1 pods")
    ours = {r.revision for r in rollout.history(connection.api_client, namespace, "web")}
    assert ours == kubectl_revisions(kubectl, namespace) == {3, 4, 5}
    assert [l["detail"] for l in audit.lines()] == ["to revision 2 (nginx:1.25)", "to revision 1 (nginx:1.24)"]


def test_undo_aborts_a_stuck_rollout(ctx, connection, kubectl, namespace):
    create_deployment(kubectl, namespace)
    kubectl("set", "image", "deployment/web", "web=nginx:doesnotexist", "-n", namespace)

    def stuck() -> bool:
        status = rollout.status(connection.api_client, namespace, "web")
        return status.revision == 2 and status.updated >= 1 and not status.done
    wait_for(stuck, message="the bad rollout to start")

    assert "back to revision 1 (nginx:1.25)" in rollout.undo(ctx, namespace, "web")
    assert template_image(kubectl, namespace) == "nginx:1.25"
    wait_rolled_out(kubectl, namespace)
    wait_for(lambda: rollout.status(connection.api_client, namespace, "web").done, message="done")
    wait_for(lambda: running_pod_images(kubectl, namespace) == ["nginx:1.25"] * 2, message="good pods only")
    assert kubectl_revisions(kubectl, namespace) == {2, 3}
    bad = [rs for rs in kubectl_json(kubectl, namespace, "replicasets")["items"]
           if rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:doesnotexist"]
    assert [rs["spec"]["replicas"] for rs in bad] == [0]


def test_undo_while_pods_are_slow_to_get_ready(ctx, connection, kubectl, namespace):
    # The status keeps moving during this rollout: the resourceVersion test must not make undo flaky.
    create_deployment(kubectl, namespace, replicas=4)
    kubectl("patch", "deployment/web", "-n", namespace, "-p", json.dumps({"spec": {"template": {
        "metadata": {"annotations": {"kdash.io/fake-ready-delay": "2"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}}))
    wait_for(lambda: rollout.status(connection.api_client, namespace, "web").updated >= 1, message="rolling")
    rollout.undo(ctx, namespace, "web")
    wait_rolled_out(kubectl, namespace)
    assert template_image(kubectl, namespace) == "nginx:1.25"


def test_undo_errors_change_nothing(ctx, kubectl, namespace):
    create_deployment(kubectl, namespace)
    before = kubectl("get", "deployment/web", "-n", namespace, "-o", "jsonpath={.metadata.generation}")
    with pytest.raises(KdashError, match="has no previous revision"):
        rollout.undo(ctx, namespace, "web")
    kubectl("set", "image", "deployment/web", "web=nginx:1.26", "-n", namespace)
    wait_rolled_out(kubectl, namespace)
    with pytest.raises(KdashError) as info:
        rollout.undo(ctx, namespace, "web", to_revision=7)
    assert info.value.title == "Revision not found"
    assert info.value.message == (f"revision 7 not found in the history of Deployment {namespace}/web "
                                  "(known: 1, 2)")
    with pytest.raises(KdashError, match="already runs revision 2's template"):
        rollout.undo(ctx, namespace, "web", to_revision=2)
    assert int(kubectl("get", "deployment/web", "-n", namespace, "-o",
                       "jsonpath={.metadata.generation}")) == int(before) + 1  # only the set image


# -- restart -------------------------------------------------------------------------------------


def test_restart_rolls_every_pod(ctx, connection, kubectl, namespace):
    create_deployment(kubectl, namespace)
    old_pods = {p["metadata"]["name"] for p in kubectl_json(kubectl, namespace, "pods")["items"]}
    assert rollout.restart(ctx, namespace, "web").startswith(f"restarted Deployment {namespace}/web")
    stamp = kubectl("get", "deployment/web", "-n", namespace, "-o",
                    r"jsonpath={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}")
    assert len(stamp) == 20 and stamp.endswith("Z")
    wait_rolled_out(kubectl, namespace)
    assert len(replicaset_images(kubectl, namespace)) == 2

    def replaced() -> bool:
        pods = [p for p in kubectl_json(kubectl, namespace, "pods")["items"]
                if not p["metadata"].get("deletionTimestamp")]
        return len(pods) == 2 and not {p["metadata"]["name"] for p in pods} & old_pods
    wait_for(replaced, message="all pods replaced")
    assert rollout.status(connection.api_client, namespace, "web").done


# -- delete pod ----------------------------------------------------------------------------------


def test_delete_pod_is_replaced_by_its_replicaset(ctx, kubectl, namespace, audit):
    create_deployment(kubectl, namespace)
    pod = kubectl_json(kubectl, namespace, "pods")["items"][0]
    name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
    assert delete.delete_pod(ctx, namespace, name, uid) == f"deleted pod {namespace}/{name}"

    def replaced() -> bool:
        pods = kubectl_json(kubectl, namespace, "pods")["items"]
        return len(pods) == 2 and name not in {p["metadata"]["name"] for p in pods}
    wait_for(replaced, message="the pod replaced")
    assert audit.lines()[-1]["object"] == f"Pod/{namespace}/{name}"


def test_delete_pod_with_another_uid_deletes_nothing(ctx, kubectl, namespace):
    create_deployment(kubectl, namespace)
    pod = kubectl_json(kubectl, namespace, "pods")["items"][0]
    name = pod["metadata"]["name"]
    with pytest.raises(KdashError) as info:
        delete.delete_pod(ctx, namespace, name, uid="00000000-0000-0000-0000-000000000000")
    assert info.value.title == "Pod replaced"
    live = kubectl_json(kubectl, namespace, f"pod/{name}")
    assert live["metadata"]["uid"] == pod["metadata"]["uid"]
    assert "deletionTimestamp" not in live["metadata"]


# -- read-only -----------------------------------------------------------------------------------


def test_read_only_blocks_every_write(connection, kubectl, namespace, audit):
    create_deployment(kubectl, namespace)
    ctx = WriteContext.for_connection(connection, readonly=True, audit=audit)
    before = kubectl_json(kubectl, namespace, "deployments,replicasets,pods,configmaps")
    pod = next(i for i in before["items"] if i["kind"] == "Pod")
    manifests = apply.parse_manifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ro}\n")
    writes = [
        lambda: scale.scale(ctx, namespace, "web", 5),
        lambda: image.set_image(ctx, (namespace, "web"), "web", "nginx:1.26"),
        lambda: rollout.undo(ctx, namespace, "web"),
        lambda: rollout.restart(ctx, namespace, "web"),
        lambda: delete.delete_pod(ctx, namespace, pod["metadata"]["name"], pod["metadata"]["uid"]),
        lambda: apply.plan(ctx, manifests, namespace),
        lambda: apply.apply(ctx, apply.Plan([apply.PlanItem(manifests[0], "created")], namespace)),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyError):
            write()
    after = kubectl_json(kubectl, namespace, "deployments,replicasets,pods,configmaps")
    versions = lambda listing: {(i["kind"], i["metadata"]["name"]): i["metadata"]["resourceVersion"]  # noqa: E731
                                for i in listing["items"]}
    assert versions(after) == versions(before)
    assert [l["result"] for l in audit.lines()] == ["refused"] * len(writes)
