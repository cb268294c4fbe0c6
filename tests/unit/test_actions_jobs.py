"""The Job that trigger-now creates (kubectl create job --from=cronjob/x's shape) and Job name input."""

from __future__ import annotations

import pytest
from render_fixtures import load

from kdash.actions import jobs as job_actions
from kdash.core.jobs import INSTANTIATE_ANNOTATION, cronjob_uid, is_manual

REPORT = load("jobs.json")["cronjobs"][0]


def test_job_from_cronjob_is_what_kubectl_creates() -> None:
    job = job_actions.job_from_cronjob(REPORT, "report-now")
    meta = job["metadata"]
    assert (job["apiVersion"], job["kind"], meta["name"], meta["namespace"]) == ("batch/v1", "Job", "report-now", "shop")
    assert meta["annotations"] == {INSTANTIATE_ANNOTATION: "manual", "team": "data"}
    assert meta["labels"] == {"app": "report"}
    assert meta["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "report", "uid": "cj-1",
                                        "controller": True}]
    assert job["spec"] == REPORT["spec"]["jobTemplate"]["spec"] and job["spec"] is not REPORT["spec"]["jobTemplate"]["spec"]
    assert is_manual(job) and cronjob_uid(job) == "cj-1"


def test_job_names() -> None:
    name = job_actions.default_job_name("report")
    assert name.startswith("report-manual-") and job_actions.parse_job_name(name) == name
    long = job_actions.default_job_name("x" * 80)
    assert len(long) == job_actions.MAX_JOB_NAME and job_actions.parse_job_name(long) == long
    assert job_actions.parse_job_name("  ok-1 ") == "ok-1"
    for bad, says in (("", "enter a name"), ("Big", "lower-case"), ("a_b", "lower-case"), ("-a", "lower-case"),
                      ("a" * 64, "at most 63")):
        with pytest.raises(job_actions.InvalidJobName) as error:
            job_actions.parse_job_name(bad)
        assert says in error.value.message
