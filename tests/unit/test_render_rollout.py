"""Rollout status (kubectl wording), progress, strategy and revision history."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from render_fixtures import by_name, items

from kdash.core.rollout import (
    RolloutIndex,
    history,
    new_replicaset,
    owned_replicasets,
    previous_of,
    revision_of,
    rollout_status,
    strategy_text,
)

RS = items("replicasets")


def test_mid_rollout_waits_for_old_replicas() -> None:
    status = rollout_status(by_name("deployments", "web"), RS)
    assert status.state == "progressing"
    assert not status.done
    assert status.message == 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...'
    assert status.new_rs == "web-7d9c6b5f4"
    assert (status.new_rs_ready, status.new_rs_desired, status.old_rs_replicas) == (1, 3, 1)
    assert (status.desired, status.current, status.updated, status.ready, status.available) == (3, 4, 3, 2, 2)
    assert status.summary == "rolling: new RS 1/3, old RS 1"
    assert status.revision == 2
    # updated 3/3, new RS available 1/3, old pods drained 2/3
    assert status.progress == pytest.approx((1 + 1 / 3 + 2 / 3) / 3, abs=1e-3)
    assert [c.type for c in status.conditions] == ["Available", "Progressing"]
    assert status.conditions[1].reason == "ReplicaSetUpdated"


def test_progress_deadline_exceeded_is_failed() -> None:
    status = rollout_status(by_name("deployments", "api"), RS)
    assert status.state == "failed"
    assert status.message == 'deployment "api" exceeded its progress deadline'
    assert status.summary.startswith("failed: progress deadline exceeded")
    assert status.new_rs == "api-6f7d8c9b5"
    assert status.old_rs_replicas == 2
    assert 0 < status.progress < 1


def test_paused_rollout() -> None:
    status = rollout_status(by_name("deployments", "worker"), RS)
    assert status.state == "paused"
    assert status.paused
    assert status.message == 'Waiting for deployment "worker" rollout to finish: 1 out of 2 new replicas have been updated...'
    assert status.summary == "paused: new RS 0/2, old RS 1"


def test_complete_rollout_ignores_namesakes_in_other_namespaces() -> None:
    status = rollout_status(by_name("deployments", "web", "staging"), RS)
    assert status.state == "complete"
    assert status.done
    assert status.message == 'deployment "web" successfully rolled out'
    assert status.progress == 1.0
    assert status.summary == "complete: 2/2 ready"
    # default/web-5b8f7c9d6 has the same name but another owner uid.
    assert status.old_rs_replicas == 0
    assert [rs["metadata"]["namespace"] for rs in owned_replicasets(by_name("deployments", "web", "staging"), RS)] \
        == ["staging"]


def _synthetic(**status: int) -> dict:
    deployment = copy.deepcopy(by_name("deployments", "web", "staging"))
    deployment["status"] = {"observedGeneration": 1, **status}
    deployment["status"]["conditions"] = []
    return deployment


def test_waiting_for_updated_replicas_to_become_available() -> None:
    deployment = _synthetic(replicas=2, updatedReplicas=2, availableReplicas=1)
    status = rollout_status(deployment, RS)
    assert status.message == 'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...'
    assert status.state == "progressing"


def test_waiting_for_new_replicas_to_be_updated() -> None:
    deployment = _synthetic(replicas=2, updatedReplicas=1, availableReplicas=2)
    assert rollout_status(deployment, RS).message == \
        'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...'


def test_spec_not_observed_yet() -> None:
    deployment = _synthetic(replicas=2, updatedReplicas=2, availableReplicas=2)
    deployment["metadata"]["generation"] = 2
    status = rollout_status(deployment, RS)
    assert status.message == "Waiting for deployment spec update to be observed..."
    assert not status.observed
    assert status.summary == "waiting for the controller to observe the new spec"


def test_scaled_to_zero() -> None:
    deployment = _synthetic()
    deployment["spec"]["replicas"] = 0
    status = rollout_status(deployment, [])
    assert (status.state, status.done, status.progress, status.summary) == ("scaled-to-zero", True, 1.0, "scaled to zero")


def test_recreate_strategy_summary() -> None:
    deployment = copy.deepcopy(by_name("deployments", "web"))
    deployment["spec"]["strategy"] = {"type": "Recreate"}
    status = rollout_status(deployment, RS)
    assert status.strategy == "Recreate"
    assert status.summary.startswith("recreating: ")


def test_strategy_text() -> None:
    assert strategy_text(by_name("deployments", "web")) == "RollingUpdate maxSurge=25% maxUnavailable=25%"
    assert strategy_text(by_name("deployments", "api")) == "RollingUpdate maxSurge=1 maxUnavailable=0"
    assert strategy_text({"spec": {}}) == "RollingUpdate maxSurge=25% maxUnavailable=25%"


def test_new_rs_is_found_by_template_then_by_revision() -> None:
    deployment = by_name("deployments", "web")
    assert new_replicaset(deployment, RS)["metadata"]["name"] == "web-7d9c6b5f4"
    # A defaulting difference breaks template equality; the revision annotation still finds it.
    drifted = copy.deepcopy(deployment)
    drifted["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Always"
    assert new_replicaset(drifted, RS)["metadata"]["name"] == "web-7d9c6b5f4"
    # …but not while the controller has not seen the new spec (the new RS may not exist yet).
    drifted["metadata"]["generation"] = 5
    assert new_replicaset(drifted, RS) is None


def test_revision_of() -> None:
    assert revision_of(by_name("replicasets", "web-7d9c6b5f4")) == 2
    assert revision_of(by_name("replicasets", "legacy")) == 0
    assert revision_of({"metadata": {"annotations": {"deployment.kubernetes.io/revision": "x"}}}) == 0


def test_history_newest_first() -> None:
    revisions = history(by_name("deployments", "api"), RS)
    assert [r.revision for r in revisions] == [3, 2, 1]
    assert [r.name for r in revisions] == ["api-6f7d8c9b5", "api-58c4d7f9b6", "api-74b9d5c8f"]
    assert revisions[0].images == ("acme/api:2.0",)
    assert [r.change_cause for r in revisions] == ["deploy 2.0", "deploy 1.9", "deploy 1.8"]
    assert [r.is_current for r in revisions] == [True, False, False]
    assert (revisions[1].desired, revisions[1].current, revisions[1].ready) == (2, 2, 2)
    assert revisions[2].created is not None and revisions[2].created.year == 2021


def test_rollout_statuses_by_uid() -> None:
    deployments = items("deployments")
    index = RolloutIndex()
    index.update(deployments, RS)
    statuses = index.statuses
    assert len(statuses) == 4
    assert {s.state for s in statuses.values()} == {"progressing", "failed", "paused", "complete"}
    web = by_name("deployments", "web")
    assert statuses[web["metadata"]["uid"]] == rollout_status(web, RS)


def _previous(revisions) -> int | None:
    previous = previous_of(revisions)
    return previous.revision if previous is not None else None


def test_previous_revision_is_the_newest_older_than_the_current() -> None:
    revisions = history(by_name("deployments", "api"), RS)  # 3 (current), 2, 1
    assert _previous(revisions) == 2
    assert _previous(list(reversed(revisions))) == 2  # order does not matter
    rolled_back = [dataclasses.replace(r, is_current=r.revision == 1) for r in revisions]
    assert _previous(rolled_back) is None  # nothing older than revision 1
    assert _previous([dataclasses.replace(r, is_current=False) for r in revisions]) == 3
    assert _previous([]) is None
