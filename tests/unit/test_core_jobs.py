"""Job and CronJob semantics (kubectl's printJob/printCronJob words) on batch/v1 fixtures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from render_fixtures import load

from kdash.core import jobs
from kdash.core.values import parse_time

DATA = load("jobs.json")
NOW = parse_time(DATA["now"])
CASES = DATA["jobs"]


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_kubectl_columns(case: dict) -> None:
    job, expected = case["job"], case["expected"]
    assert jobs.job_status(job) == expected["status"], case["why"]
    assert jobs.job_status_text(job) == expected["text"]
    assert jobs.completions(job) == expected["completions"]
    took = jobs.duration(job, NOW)
    assert (None if took is None else took.total_seconds()) == expected["duration"]
    assert jobs.job_health(job) == expected["health"]
    assert jobs.backoff_text(job) == expected["backoff"]


def test_failure_reason_only_when_failed() -> None:
    by_case = {c["case"]: c["job"] for c in CASES}
    assert jobs.job_failure_reason(by_case["backoff-limit"]) == "BackoffLimitExceeded"
    assert jobs.job_failure_reason(by_case["complete"]) == ""


def test_newest_first_by_creation() -> None:
    names = [j["metadata"]["name"] for j in jobs.newest_first(c["job"] for c in CASES)]
    assert names[0] in ("flaky", "held", "going") and names[-1] == "migrate"
    assert names.index("report-29000010") < names.index("report-29000005")


def test_cronjob_status_batch_v1() -> None:
    report, cleanup = DATA["cronjobs"]
    status = jobs.cronjob_status(report)
    assert (status.schedule, status.suspended, status.active, status.time_zone) == ("*/5 * * * *", False, 1, "Etc/UTC")
    assert NOW - status.last_schedule == timedelta(minutes=10)
    assert status.last_success == parse_time("2026-12-07T09:45:30Z")
    idle = jobs.cronjob_status(cleanup)
    assert (idle.suspended, idle.active, idle.last_schedule) == (True, 0, None)
    assert jobs.cronjob_health(cleanup) == "none"
    assert jobs.cronjob_health(report) == "progressing"
    failed = next(c["job"] for c in CASES if c["case"] == "backoff-limit")
    assert jobs.cronjob_health({**report, "status": {}}, [failed]) == "error"


def test_manual_jobs_are_recognised() -> None:
    job = {"metadata": {"annotations": {jobs.INSTANTIATE_ANNOTATION: "manual"}}}
    assert jobs.is_manual(job) and not jobs.is_manual(CASES[0]["job"])


def test_cronjob_of_a_job_with_or_without_controller_flag() -> None:
    ref = {"apiVersion": "batch/v1beta1", "kind": "CronJob", "name": "nightly", "uid": "cj-9"}
    assert jobs.cronjob_uid({"metadata": {"ownerReferences": [ref]}}) == "cj-9"  # kubectl 1.20's shape
    assert jobs.cronjob_uid({"metadata": {"ownerReferences": [{**ref, "controller": True}]}}) == "cj-9"
    other = {"kind": "Workflow", "uid": "w-1", "controller": True}
    assert jobs.cronjob_uid({"metadata": {"ownerReferences": [other, ref]}}) is None
    assert jobs.cronjob_uid(CASES[0]["job"]) == "cj-1"
