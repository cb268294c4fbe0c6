"""The undo patch, built from fixture dicts exactly as `kubectl rollout undo` builds it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kdash.actions.rollout import SKIP_ANNOTATIONS, label_selector, undo_patch
from kdash.errors import KdashError

DEPLOY_UID = "d-uid"
REV = "deployment.kubernetes.io/revision"


def template(image: str, pod_hash: str | None = None) -> dict[str, Any]:
    labels = {"app": "web"}
    if pod_hash:
        labels["pod-template-hash"] = pod_hash
    return {"metadata": {"creationTimestamp": None, "labels": labels},
            "spec": {"containers": [{"name": "web", "image": image, "resources": {}}]}}


def replicaset(revision: int, image: str, owner: str = DEPLOY_UID, **annotations: str) -> dict[str, Any]:
    pod_hash = f"h{revision}"
    return {
        "metadata": {
            "name": f"web-{pod_hash}", "namespace": "prod", "uid": f"rs-{revision}",
            "annotations": {REV: str(revision), "deployment.kubernetes.io/desired-replicas": "3",
                            "kubernetes.io/change-cause": f"image {image}", **annotations},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                 "uid": owner, "controller": True}],
        },
        "spec": {"replicas": 0, "template": template(image, pod_hash)},
    }


def deployment(image: str, revision: int, **extra_annotations: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web", "namespace": "prod", "uid": DEPLOY_UID, "resourceVersion": "4242",
            "annotations": {REV: str(revision), "kubectl.kubernetes.io/last-applied-configuration": "{}",
                            "team": "a", **extra_annotations},
        },
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template(image)},
    }


HISTORY = [replicaset(1, "nginx:1.24"), replicaset(2, "nginx:1.25"), replicaset(3, "nginx:1.26")]


def test_undo_targets_the_previous_revision_and_builds_kubectls_patch() -> None:
    plan = undo_patch(deployment("nginx:1.26", 3), copy.deepcopy(HISTORY))
    assert plan.revision == 2
    assert plan.images == ("nginx:1.25",)
    assert plan.patch == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "4242"},
        {"op": "replace", "path": "/spec/template", "value": template("nginx:1.25")},
        {"op": "replace", "path": "/metadata/annotations", "value": {
            # The Deployment keeps its own skip-listed annotations…
            REV: "3",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            # …and takes every other one from the ReplicaSet; its own "team" is dropped (kubectl does).
            "kubernetes.io/change-cause": "image nginx:1.25",
        }},
    ]


def test_template_copy_drops_only_the_hash_label_and_leaves_the_input_alone() -> None:
    history = copy.deepcopy(HISTORY)
    plan = undo_patch(deployment("nginx:1.26", 3), history)
    assert plan.patch[1]["value"]["metadata"]["labels"] == {"app": "web"}
    assert history[1]["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == "h2"


def test_undo_to_a_chosen_revision() -> None:
    plan = undo_patch(deployment("nginx:1.26", 3), HISTORY, to_revision=1)
    assert plan.revision == 1
    assert plan.patch[1]["value"] == template("nginx:1.24")


def test_undo_mid_rollout_goes_back_to_the_previous_revision() -> None:
    # Revision 3 (a bad image) is still rolling out: its RS exists and the Deployment carries it.
    stuck = deployment("nginx:doesnotexist", 3)
    history = [replicaset(1, "nginx:1.24"), replicaset(2, "nginx:1.25"), replicaset(3, "nginx:doesnotexist")]
    plan = undo_patch(stuck, history)
    assert plan.revision == 2 and plan.images == ("nginx:1.25",)


def test_revision_not_found_lists_the_known_ones() -> None:
    with pytest.raises(KdashError) as info:
        undo_patch(deployment("nginx:1.26", 3), HISTORY, to_revision=9)
    assert info.value.title == "Revision not found"
    assert info.value.message == "revision 9 not found in the history of Deployment prod/web (known: 1, 2, 3)"


@pytest.mark.parametrize("revision", [0, -1])
def test_revision_must_be_positive(revision: int) -> None:
    with pytest.raises(KdashError, match="not found"):
        undo_patch(deployment("nginx:1.26", 3), HISTORY, to_revision=revision)


def test_already_at_the_target_revision() -> None:
    with pytest.raises(KdashError) as info:
        undo_patch(deployment("nginx:1.25", 4), HISTORY, to_revision=2)
    assert info.value.message == "Deployment prod/web already runs revision 2's template"


def test_no_previous_revision() -> None:
    with pytest.raises(KdashError, match="has no previous revision"):
        undo_patch(deployment("nginx:1.24", 1), [replicaset(1, "nginx:1.24")])


def test_paused_deployment_is_refused_like_kubectl() -> None:
    paused = deployment("nginx:1.26", 3)
    paused["spec"]["paused"] = True
    with pytest.raises(KdashError, match="is paused; resume it first"):
        undo_patch(paused, HISTORY)


def test_replicasets_of_other_deployments_are_ignored() -> None:
    foreign = replicaset(5, "evil:1", owner="other-uid")
    plan = undo_patch(deployment("nginx:1.26", 3), [*HISTORY, foreign])
    assert plan.revision == 2


def test_deployment_without_annotations_gets_an_add_op() -> None:
    bare = deployment("nginx:1.26", 3)
    del bare["metadata"]["annotations"]
    plan = undo_patch(bare, HISTORY)
    assert plan.patch[2]["op"] == "add"
    assert plan.patch[2]["value"] == {"kubernetes.io/change-cause": "image nginx:1.25"}


def test_skip_list_is_kubectls() -> None:
    assert {
        "kubectl.kubernetes.io/last-applied-configuration", REV,
        "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to"} == SKIP_ANNOTATIONS


def test_label_selector_renders_match_labels_and_expressions() -> None:
    assert label_selector({"matchLabels": {"tier": "web", "app": "shop"}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["a", "b"]},
        {"key": "zone", "operator": "NotIn", "values": ["x"]},
        {"key": "canary", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"},
    ]}) == "app=shop,tier=web,env in (a,b),zone notin (x),canary,!legacy"
    assert label_selector({}) == ""


def test_undo_targets_the_replicaset_the_user_was_shown() -> None:
    plan = undo_patch(deployment("nginx:1.26", 3), HISTORY, to_revision=2, replicaset_uid="rs-2")
    assert plan.revision == 2 and plan.patch[1]["value"] == template("nginx:1.25")


def test_undo_refuses_a_shown_revision_that_was_deleted_or_renumbered() -> None:
    with pytest.raises(KdashError) as gone:
        undo_patch(deployment("nginx:1.26", 3), HISTORY[1:], to_revision=1, replicaset_uid="rs-1")
    assert gone.value.title == "Revision gone"
    assert gone.value.message == ("revision 1 of Deployment prod/web no longer exists (its ReplicaSet was "
                                  "deleted); nothing was changed")
    # An undo to revision 1 landed meanwhile: its ReplicaSet is revision 4 now, and revision 1 is no more.
    renumbered = [replicaset(2, "nginx:1.25"), replicaset(3, "nginx:1.26"), replicaset(1, "nginx:1.24")]
    renumbered[2]["metadata"]["annotations"][REV] = "4"
    with pytest.raises(KdashError, match="revision 1 of Deployment prod/web is revision 4 now"):
        undo_patch(deployment("nginx:1.24", 4), renumbered, to_revision=1, replicaset_uid="rs-1")


def test_undo_of_a_paused_deployment_says_how_to_resume() -> None:
    paused = deployment("nginx:1.26", 3)
    paused["spec"]["paused"] = True
    with pytest.raises(KdashError, match="is paused; resume it first"):
        undo_patch(paused, HISTORY, to_revision=2, replicaset_uid="rs-2")


def test_history_is_settled_once_the_controller_renumbered_after_an_undo() -> None:
    from kdash.core.rollout import history_settled

    # Undo to revision 1 sent at generation 5: the template is revision 1's, nothing renumbered yet.
    sent = deployment("nginx:1.24", 3)
    sent["metadata"]["generation"] = 6
    sent["status"] = {"observedGeneration": 5}
    history = copy.deepcopy(HISTORY)
    assert not history_settled(sent, history, 5)
    # The controller observed it and set the Deployment's revision, but the store has the old RS still.
    sent["status"]["observedGeneration"] = 6
    sent["metadata"]["annotations"][REV] = "4"
    assert not history_settled(sent, history, 5)
    history[0]["metadata"]["annotations"][REV] = "4"  # the ReplicaSet's update arrives
    assert history_settled(sent, history, 5)
    assert not history_settled(sent, history, 6)  # a later undo is not settled by the earlier one
