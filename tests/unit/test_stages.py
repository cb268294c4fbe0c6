"""Staged ConfigMap restarts: the order, stopping at the first failure, and which pods run old data."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kdash.core.configmaps import data_hash, stamp_key
from kdash.core.stages import StagedRestart, data_spread, spread_text, stage_order

CM = {"metadata": {"name": "cfg", "namespace": "default"}, "data": {"LEVEL": "debug"}}


def _deployment(name: str, replicas: int | None) -> dict:
    spec = {} if replicas is None else {"replicas": replicas}
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


def _pod(name: str, stamp: str | None, terminating: bool = False) -> dict:
    meta: dict = {"name": name, "namespace": "default", "annotations": {stamp_key("cfg"): stamp} if stamp else {}}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def test_fewest_replicas_go_first_then_by_name() -> None:
    deployments = [_deployment("web", 3), _deployment("api", 1), _deployment("cron", None), _deployment("auth", 1)]
    # No replicas field means the API default, 1.
    assert stage_order(deployments) == ["api", "auth", "cron", "web"]


def test_each_stage_waits_for_the_one_before_and_a_failure_stops_the_rest() -> None:
    run = StagedRestart.of("default", "cfg", ["api", "web", "worker"])
    assert run.next_stage().deployment == "api"
    run.stage("api").state = "watching"
    assert run.next_stage() is None, "the next stage waits for the verdict"
    run.end("api", "healthy", "healthy: 1/1 new pods ready")
    assert run.next_stage().deployment == "web"
    run.end("web", "failed", "failed: restarts")
    assert run.next_stage() is None and run.done and run.outcome == "failed"
    assert run.stopped == "web failed"
    assert run.lines() == ["1/3 api: healthy — healthy: 1/1 new pods ready", "2/3 web: failed — failed: restarts",
                           "3/3 worker: not restarted — web failed"]
    assert run.record()["stages"][2] == {"deployment": "worker", "state": "not restarted", "note": "web failed"}


def test_a_consumer_already_on_the_data_lets_the_next_one_go() -> None:
    run = StagedRestart.of("default", "cfg", ["api", "web"])
    run.end("api", "current", "already on this data")
    assert run.next_stage().deployment == "web"
    run.end("web", "healthy")
    run.stop("the watch was closed")  # after the last verdict: the run had ended well
    assert run.done and run.outcome == "healthy" and "stopped" not in run.record()


def test_stopping_leaves_the_waiting_stages_not_restarted() -> None:
    run = StagedRestart.of("default", "cfg", ["api", "web"])
    run.stage("api").state = "unjudged"
    run.stop("the watch was closed")
    run.stop("a second reason is not kept")
    assert run.outcome == "stopped" and run.stopped == "the watch was closed"
    assert [s.state for s in run.stages] == ["unjudged", "not restarted"]


def test_the_spread_counts_pods_by_the_stamp_of_the_current_data() -> None:
    current = data_hash(CM)
    pods = [_pod("a", current), _pod("b", "0ld"), _pod("c", None), _pod("d", "0ld", terminating=True)]
    spread = data_spread(CM, "web", pods)
    assert (spread.current, spread.old) == (1, 2)  # a terminating pod is on its way out: not counted
    assert spread_text([spread, data_spread(CM, "api", [_pod("e", current)])]) == "old data: web 2 pods"
    assert spread_text([data_spread(CM, "api", [_pod("e", current)])]) == \
        "every consumer's pods run the current data"


class StagedRunMachine(RuleBasedStateMachine):
    """Whatever the verdicts and stops: a stage starts only after every stage before it ended well,
    nothing starts after a failure or a stop, and a finished run's outcome says what happened."""

    def __init__(self) -> None:
        super().__init__()
        self.run = StagedRestart.of("default", "cfg", ["a", "b", "c", "d"])
        self.started: list[str] = []

    @rule()
    def start_next(self) -> None:
        stage = self.run.next_stage()
        if stage is not None:
            assert all(s.state in ("healthy", "current") for s in self.run.stages[:self.run.stages.index(stage)])
            stage.state = "watching"
            self.started.append(stage.deployment)

    @rule(state=st.sampled_from(["healthy", "failed", "current"]))
    def verdict(self, state) -> None:
        watching = [s for s in self.run.stages if s.state == "watching"]
        if watching:
            self.run.end(watching[0].deployment, state)

    @rule()
    def stop(self) -> None:
        for s in self.run.stages:
            if s.state == "watching":
                s.state = "unjudged"
        self.run.stop("closed")

    @invariant()
    def at_most_one_stage_runs_and_nothing_follows_a_failure(self) -> None:
        assert sum(s.state == "watching" for s in self.run.stages) <= 1
        failed = [i for i, s in enumerate(self.run.stages) if s.state == "failed"]
        if failed:
            assert all(s.state == "not restarted" for s in self.run.stages[failed[0] + 1:])
            assert self.run.next_stage() is None
        if self.run.done:
            expected = "failed" if failed else "stopped" if self.run.stopped else "healthy"
            assert self.run.outcome == expected
        assert self.started == [s.deployment for s in self.run.stages][:len(self.started)]


TestStagedRun = StagedRunMachine.TestCase
