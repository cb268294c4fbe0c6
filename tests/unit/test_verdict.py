"""The watched rollout's verdict: criteria, settings, evidence, and its invariants."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kdash.core.pods import is_pod_ready
from kdash.core.verdict import (
    PENDING,
    Criteria,
    LogHit,
    Snapshot,
    Verdict,
    criteria_for,
    judge,
    new_pods,
    sorted_events,
)

# Healthy at the first snapshot that shows it (the stability window has its own test).
NOW = Criteria(stable_for=0)
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "rollout_watch.json").read_text())


def snap(pods: list[dict] | None = None, *, deployment: dict | None = None, old_replicas: int = 0,
         elapsed: float = 1.0, hits: tuple[LogHit, ...] = (), generation: int = 2) -> Snapshot:
    """The fixture's healthy end state with the given new pods, and old pods still running."""
    replicasets = copy.deepcopy(FIXTURE["replicasets"])
    replicasets[0]["status"]["replicas"] = old_replicas
    pods = FIXTURE["pods"]["ready"] if pods is None else pods
    return Snapshot(deployment or FIXTURE["deployment"], replicasets, pods, FIXTURE["events"], hits,
                    elapsed, generation)


def deployment_with(**status) -> dict:
    deployment = copy.deepcopy(FIXTURE["deployment"])
    deployment["status"].update(status)
    return deployment


def test_healthy_carries_its_evidence() -> None:
    verdict = judge(NOW, snap())
    assert verdict.state == "healthy"
    assert verdict.evidence[:4] == ("2/2 new pods ready", "observedGeneration 2 current",
                                    "updated = total = available = 2", "old ReplicaSets scaled down (1)")
    assert verdict.evidence[4:] == ("new ReplicaSet api-new2: api-new2-a, api-new2-b", "held for 0s")


def test_healthy_only_after_holding_for_stable_for_with_logs_followed() -> None:
    criteria = Criteria(stable_for=5)
    first = judge(criteria, snap(elapsed=10))
    assert (first.state, first.waiting, first.holding_since) == ("pending", ("all good for 0s of 5s",), 10)
    assert judge(criteria, snap(elapsed=14.9), first).state == "pending"
    # A pod whose log is not followed yet breaks the hold: it starts again once it is.
    broken = judge(criteria, Snapshot(**{**snap(elapsed=13).__dict__, "unfollowed": ("api-new2-a",)}), first)
    assert broken.waiting == ("log of pod api-new2-a not followed yet",) and broken.holding_since is None
    assert judge(criteria, snap(elapsed=15), broken).state == "pending"
    assert judge(criteria, snap(elapsed=15), first).evidence[-1] == "held for 5s"


def test_not_healthy_while_old_pods_run_or_generation_unobserved() -> None:
    assert judge(NOW, snap(old_replicas=1)).waiting == ("1 old pods still running",)
    verdict = judge(NOW, snap(generation=3))
    assert verdict.state == "pending"
    assert verdict.waiting[0] == "controller has not observed generation 3 (observed 2)"
    short = deployment_with(availableReplicas=1)
    assert judge(NOW, snap(deployment=short)).waiting == ("updated 2, total 2, available 1, desired 2",)


def test_crash_loop_fails_on_restarts_with_the_pod_and_its_event() -> None:
    pods = [FIXTURE["pods"]["ready"][0], FIXTURE["pods"]["crashloop"]]
    verdict = judge(Criteria(max_restarts=1), snap(pods))
    assert (verdict.state, verdict.criterion) == ("failed", "restarts")
    assert verdict.evidence[0] == "pod api-new2-c: 2 restarts (> 1), status CrashLoopBackOff; last exit 1 Error"
    assert verdict.evidence[1] == ("event BackOff on api-new2-c: Back-off restarting failed container api in "
                                   "pod api-new2-c")
    assert verdict.headline.startswith("failed: restarts: pod api-new2-c: 2 restarts")
    # Two restarts are within a budget of two: not failed (yet), and not healthy either.
    assert judge(Criteria(max_restarts=2), snap(pods)).state == "pending"


def test_old_pods_never_count() -> None:
    old = copy.deepcopy(FIXTURE["pods"]["old"])
    old["status"]["containerStatuses"][0]["restartCount"] = 9
    verdict = judge(NOW, snap([*FIXTURE["pods"]["ready"], old],
                                     hits=(LogHit("api-old1-z", "api", "ERROR old"),)))
    assert verdict.state == "healthy"


def test_log_pattern_fails_with_the_line() -> None:
    hits = (LogHit("api-new2-a", "api", "api-new2-a api line 3"),
            LogHit("api-new2-b", "api", "ERROR cannot reach db"))
    verdict = judge(NOW, snap(hits=hits))
    assert (verdict.state, verdict.criterion) == ("failed", "log")
    assert verdict.evidence == ("pod api-new2-b/api logged: ERROR cannot reach db",)
    assert judge(replace(NOW, log_pattern=""), snap(hits=hits)).state == "healthy"


def test_progress_deadline_fails_on_the_condition() -> None:
    deployment = deployment_with(conditions=[{"type": "Progressing", "status": "False",
                                              "reason": "ProgressDeadlineExceeded",
                                              "message": 'ReplicaSet "api-new2" has timed out progressing.'}])
    verdict = judge(NOW, snap(deployment=deployment))
    assert (verdict.state, verdict.criterion) == ("failed", "deadline")
    assert verdict.evidence == ('Deployment condition Progressing=False ProgressDeadlineExceeded: '
                                'ReplicaSet "api-new2" has timed out progressing.',)
    assert judge(replace(NOW, progress_deadline=False), snap(deployment=deployment)).state == "healthy"


def test_never_ready_fails_on_ready_within_after_t() -> None:
    pods = [FIXTURE["pods"]["ready"][0], FIXTURE["pods"]["never_ready"]]
    deployment = deployment_with(availableReplicas=1)
    assert judge(Criteria(ready_within=30), snap(pods, deployment=deployment, elapsed=29.9)).state == "pending"
    verdict = judge(Criteria(ready_within=30), snap(pods, deployment=deployment, elapsed=30))
    assert (verdict.state, verdict.criterion) == ("failed", "ready")
    assert verdict.evidence[:2] == ("not healthy after 30s: pod api-new2-e not ready (Running)",
                                    "updated 2, total 2, available 1, desired 2")


def test_image_pull_is_named_on_the_ready_criterion() -> None:
    verdict = judge(Criteria(ready_within=5), snap([FIXTURE["pods"]["image_pull"]], elapsed=6))
    assert verdict.criterion == "ready"
    assert verdict.evidence[0] == "not healthy after 5s: pod api-new2-d not ready (ImagePullBackOff)"


def test_settings_per_context() -> None:
    raw = {"*": {"ready_within": 60, "max_restarts": 0},
           "prod": {"auto_undo": True, "ready_within": 300, "log_pattern": "(", "colour": "red"}}
    criteria, warnings = criteria_for(raw, "prod")
    assert criteria == Criteria(ready_within=300.0, max_restarts=0, auto_undo=True)
    assert warnings == ["rollout_watch.prod: ignored 'log_pattern': '(' is not a valid str (regular expression)",
                        "rollout_watch.prod: unknown setting 'colour' ignored"]
    assert criteria_for(raw, "dev")[0] == Criteria(ready_within=60.0, max_restarts=0)
    assert criteria_for({}, "dev") == (Criteria(), [])
    assert criteria_for({"dev": {"max_restarts": -1, "auto_undo": "yes"}}, "dev")[0] == Criteria()


def test_new_pods_and_event_order() -> None:
    pods = [*FIXTURE["pods"]["ready"], FIXTURE["pods"]["old"]]
    assert [p["metadata"]["name"] for p in new_pods(FIXTURE["deployment"], FIXTURE["replicasets"], pods)] == \
        ["api-new2-a", "api-new2-b"]
    assert [e["reason"] for e in sorted_events(FIXTURE["events"])] == ["BackOff", "ScalingReplicaSet"]


# -- invariants -------------------------------------------------------------------------------------

POD_KINDS = ["ready", "crashloop", "image_pull", "never_ready", "old"]


def _pod(kind: str, index: int) -> dict:
    pod = copy.deepcopy(FIXTURE["pods"][kind] if kind != "ready" else FIXTURE["pods"]["ready"][0])
    pod["metadata"]["name"] += f"-{index}"
    pod["metadata"]["uid"] += f"-{index}"
    return pod


steps = st.lists(st.tuples(st.lists(st.sampled_from(POD_KINDS), max_size=4),
                           st.integers(0, 2),  # old pods left
                           st.integers(0, 3),  # available replicas
                           st.booleans(),  # a matching log line
                           st.booleans()),  # progress deadline exceeded
                 min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(steps, st.integers(0, 3), st.floats(1, 50), st.sampled_from([0.0, 10.0]))
def test_verdict_invariants(sequence, max_restarts, ready_within, stable_for) -> None:
    """Healthy only with every new pod ready and the old ones gone; a verdict never changes."""
    criteria = Criteria(max_restarts=max_restarts, ready_within=ready_within, stable_for=stable_for)
    verdict: Verdict = PENDING
    for elapsed, (kinds, old, available, logged, timed_out) in enumerate(sequence):
        pods = [_pod(kind, i) for i, kind in enumerate(kinds)]
        conditions = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}] \
            if timed_out else []
        deployment = deployment_with(availableReplicas=available, conditions=conditions)
        hits = tuple(LogHit(p["metadata"]["name"], "api", "ERROR x") for p in pods) if logged else ()
        shot = snap(pods, deployment=deployment, old_replicas=old, elapsed=float(elapsed * 10), hits=hits)
        before = verdict
        verdict = judge(criteria, shot, verdict)
        if before.done:
            assert verdict == before
            continue
        fresh = new_pods(shot.deployment, shot.replicasets, shot.pods)
        if verdict.state == "healthy":
            assert fresh and all(is_pod_ready(p) for p in fresh)
            assert old == 0 and available == 2 and not timed_out
            assert len(verdict.evidence) >= 4
        if verdict.state == "failed":
            assert verdict.criterion and verdict.evidence
