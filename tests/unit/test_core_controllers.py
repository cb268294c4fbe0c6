"""StatefulSet and DaemonSet rollout status (kubectl's wording) and ControllerRevision history and undo."""

from __future__ import annotations

import copy
import json

import pytest
from render_fixtures import load

from kdash.core import daemonsets as core_ds
from kdash.core import revisions
from kdash.core import statefulsets as core_sts


def _sts_fixture() -> dict:
    return load("statefulsets.json")


def _ds_fixture() -> dict:
    return load("daemonsets.json")


def _named(items: list[dict], name: str) -> dict:
    return next(copy.deepcopy(i) for i in items if i["metadata"]["name"] == name)


def sts(name: str = "web") -> dict:
    return _named(_sts_fixture()["statefulsets"]["items"], name)


def ds() -> dict:
    return _named(_ds_fixture()["daemonsets"]["items"], "node-agent")


# -- StatefulSet status -----------------------------------------------------------------------------


def test_staged_rollout_is_done_for_kubectl_but_staged_for_us() -> None:
    status = core_sts.statefulset_status(sts())
    # What `kubectl rollout status sts/web` printed against this very object.
    assert status.message == "partitioned roll out complete: 1 new pods have been updated..."
    assert status.done
    assert status.state == "staged"
    assert (status.partition, status.updated, status.current_replicas, status.to_update) == (2, 1, 2, 1)
    assert status.current_revision != status.update_revision


def test_partition_lowered_waits_for_the_next_ordinal() -> None:
    web = sts()
    web["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1
    web["status"]["observedGeneration"] = web["metadata"]["generation"]
    status = core_sts.statefulset_status(web)
    assert status.message == "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."
    assert not status.done and status.state == "progressing"


def test_unready_pods_come_first_in_kubectl_wording() -> None:
    status = core_sts.statefulset_status(sts("db"))
    assert status.message == "Waiting for 2 pods to be ready..."
    assert status.state == "progressing"


def test_spec_not_observed_yet() -> None:
    web = sts()
    web["metadata"]["generation"] += 1
    status = core_sts.statefulset_status(web)
    assert status.message == "Waiting for statefulset spec update to be observed..."
    assert status.state == "observing" and not status.done


def test_never_observed_counts_as_not_observed() -> None:
    web = sts()
    web["status"] = {}
    assert not core_sts.statefulset_status(web).observed


def test_on_delete_is_refused_by_kubectl_and_waits_for_deletes() -> None:
    web = sts()
    web["spec"]["updateStrategy"] = {"type": "OnDelete"}
    status = core_sts.statefulset_status(web)
    assert status.message == "rollout status is only available for RollingUpdate strategy type"
    assert status.done and status.state == "on-delete" and status.partition == 0


def test_complete_when_revisions_agree() -> None:
    web = sts()
    web["status"].update(updatedReplicas=3, currentReplicas=3, currentRevision=web["status"]["updateRevision"])
    web["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 0
    status = core_sts.statefulset_status(web)
    assert status.message == "partitioned roll out complete: 3 new pods have been updated..."
    assert status.state == "complete"


def test_pod_revision_and_partition_hold() -> None:
    web = sts()
    status = core_sts.statefulset_status(web)
    pods = {p["metadata"]["name"]: p for p in _sts_fixture()["pods"]["items"]}
    assert core_sts.pod_revision(status, pods["web-2"]) == "update"
    assert core_sts.pod_revision(status, pods["web-0"]) == "current"
    assert core_sts.held_by_partition(status, 1) and not core_sts.held_by_partition(status, 2)


def test_ordinals_and_claim_names() -> None:
    web = sts()
    pods = _sts_fixture()["pods"]["items"]
    assert [n for n, _ in core_sts.owned_pods(web, pods)] == [0, 1, 2]
    assert core_sts.ordinal(web, {"metadata": {"name": "web-01"}}) is None
    assert core_sts.ordinal(web, {"metadata": {"name": "webby-1"}}) is None
    assert core_sts.claim_names(web, 4) == ("www-web-4",)


@pytest.mark.parametrize(("value", "error"), [(-1, "negative"), (4, "more than the 3"), (True, "whole number")])
def test_bad_partitions_are_refused(value, error) -> None:
    with pytest.raises(ValueError, match=error):
        core_sts.check_partition(value, sts())


def test_partition_steps_down_to_zero() -> None:
    web = sts()
    assert core_sts.check_partition(3, web) == 3
    assert core_sts.next_partition(web) == 1
    web["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 0
    assert core_sts.next_partition(web) == 0


# -- DaemonSet status ------------------------------------------------------------------------------


def test_daemonset_rolled_out_in_kubectl_wording() -> None:
    status = core_ds.daemonset_status(ds())
    assert status.message == 'daemon set "node-agent" successfully rolled out'
    assert (status.desired, status.current, status.ready, status.updated, status.available) == (2, 2, 2, 2, 2)
    assert status.max_unavailable == "1" and status.state == "complete"


def test_daemonset_waits_for_updates_then_availability() -> None:
    agent = ds()
    agent["status"].update(updatedNumberScheduled=1)
    assert core_ds.daemonset_status(agent).message == (
        'Waiting for daemon set "node-agent" rollout to finish: 1 out of 2 new pods have been updated...')
    agent["status"].update(updatedNumberScheduled=2, numberAvailable=1)
    assert core_ds.daemonset_status(agent).message == (
        'Waiting for daemon set "node-agent" rollout to finish: 1 of 2 updated pods are available...')
    agent["metadata"]["generation"] += 5
    assert core_ds.daemonset_status(agent).message == "Waiting for daemon set spec update to be observed..."


def test_daemonset_on_delete() -> None:
    agent = ds()
    agent["spec"]["updateStrategy"] = {"type": "OnDelete"}
    agent["status"]["updatedNumberScheduled"] = 1
    status = core_ds.daemonset_status(agent)
    assert status.done and status.state == "on-delete"


def _node(name: str = "n", labels: dict | None = None, taints: list | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def test_should_run_follows_selector_affinity_and_taints() -> None:
    agent = ds()
    assert core_ds.should_run(agent, _node()) == (True, "")
    # The daemon's own tolerations: cordoned and not-ready (NoExecute) nodes keep their daemon.
    assert core_ds.should_run(agent, _node(taints=[{"key": "node.kubernetes.io/unschedulable",
                                                    "effect": "NoSchedule"}]))[0]
    ok, why = core_ds.should_run(agent, _node(taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]))
    assert not ok and why == "taint dedicated=db:NoSchedule"
    assert core_ds.should_run(agent, _node(taints=[{"key": "x", "effect": "PreferNoSchedule"}]))[0]
    spec = agent["spec"]["template"]["spec"]
    spec["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    assert core_ds.should_run(agent, _node(taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]))[0]
    spec["nodeSelector"] = {"role": "edge"}
    assert core_ds.should_run(agent, _node()) == (False, "nodeSelector")
    assert core_ds.should_run(agent, _node(labels={"role": "edge"}))[0]
    spec.pop("nodeSelector")
    spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["special"]}]}]}}}
    assert core_ds.should_run(agent, _node(labels={"zone": "a"}))[0]
    assert core_ds.should_run(agent, _node("special"))[0]
    assert core_ds.should_run(agent, _node(labels={"zone": "b"})) == (False, "node affinity")


# -- ControllerRevision history and undo -----------------------------------------------------------


def test_history_rows_newest_first_with_pods_per_revision() -> None:
    fixture = _sts_fixture()
    rows = revisions.history(sts(), fixture["controllerrevisions"]["items"], fixture["pods"]["items"])
    assert [(r.revision, r.is_current, r.current) for r in rows] == [(2, True, 1), (1, False, 2)]
    assert rows[0].images == ("nginx:1.21",) and rows[1].images == ("nginx:1.20",)


def test_daemonset_history_counts_pods_by_hash_label() -> None:
    fixture = _ds_fixture()
    rows = revisions.history(ds(), fixture["controllerrevisions"]["items"], fixture["pods"]["items"])
    assert [(r.revision, r.is_current, r.current, r.ready) for r in rows] == [(2, True, 2, 2), (1, False, 0, 0)]


def test_undo_sends_the_revision_data_as_kubectl_does() -> None:
    fixture = _sts_fixture()
    crs = fixture["controllerrevisions"]["items"]
    plan = revisions.undo_plan(sts(), crs)
    first = next(c for c in crs if c["revision"] == 1 and c["metadata"]["name"].startswith("web-"))
    assert plan.revision == 1 and plan.images == ("nginx:1.20",)
    assert plan.patch == first["data"]
    assert plan.patch["spec"]["template"]["$patch"] == "replace"
    assert json.dumps(plan.patch)  # a body the API takes as is


def test_undo_refusals() -> None:
    fixture = _sts_fixture()
    crs = fixture["controllerrevisions"]["items"]
    with pytest.raises(revisions.RevisionError, match="already runs revision 2"):
        revisions.undo_plan(sts(), crs, 2)
    with pytest.raises(revisions.RevisionError, match=r"revision 7 not found .*known: 1, 2"):
        revisions.undo_plan(sts(), crs, 7)
    with pytest.raises(revisions.RevisionError, match="no previous revision"):
        revisions.undo_plan(sts("db"), crs)
    with pytest.raises(revisions.RevisionError, match="another revision now"):
        revisions.undo_plan(sts(), crs, 1, revision_uid="someone-else")


def test_revision_keys_cover_both_label_styles() -> None:
    crs = {c["metadata"]["name"]: c for c in _ds_fixture()["controllerrevisions"]["items"]}
    name = next(iter(crs))
    assert {name, name.rpartition("-")[2]} <= revisions.revision_keys(crs[name])
