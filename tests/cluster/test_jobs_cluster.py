"""Jobs on the real control plane: the fake kubelet runs their pods to completion and the real job
controller marks them Complete or Failed (BackoffLimitExceeded); kdash's words match kubectl's."""

from __future__ import annotations

import json

from devcluster.testing import wait_for
from kdash.core import jobs as core_jobs
from kdash.core.pods import pod_status


def job_manifest(name: str, *, annotations: dict | None = None, restart: str = "Never", backoff: int = 6,
                 completions: int = 1, parallelism: int = 1) -> str:
    return json.dumps({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": backoff, "completions": completions, "parallelism": parallelism,
                 "template": {"metadata": {"annotations": annotations or {}},
                              "spec": {"restartPolicy": restart,
                                       "containers": [{"name": "main", "image": "busybox:1.36"}]}}},
    })


def get(kubectl, namespace: str, what: str) -> dict:
    return json.loads(kubectl("get", what, "-n", namespace, "-o", "json"))


def pods_of(kubectl, namespace: str, job: str) -> list[dict]:
    return json.loads(kubectl("get", "pods", "-n", namespace, "-l", f"job-name={job}", "-o", "json"))["items"]


def test_job_pods_complete_and_the_job_controller_completes_the_job(kubectl, namespace):
    kubectl("apply", "-n", namespace, "-f", "-", input=job_manifest("ok", completions=2, parallelism=2))
    job = wait_for(lambda: (j := get(kubectl, namespace, "job/ok")) and core_jobs.job_status(j) == "Complete" and j,
                   timeout=60, message="job ok Complete")
    assert core_jobs.completions(job) == "2/2"
    pods = pods_of(kubectl, namespace, "ok")
    assert [pod_status(p) for p in pods] == ["Completed", "Completed"]
    # kubectl's own STATUS column for the same pods.
    table = kubectl("get", "pods", "-n", namespace, "-l", "job-name=ok", "--no-headers")
    assert [line.split()[2] for line in table.splitlines()] == ["Completed", "Completed"]
    assert kubectl("get", "job", "ok", "-n", namespace, "--no-headers").split()[1] == "2/2"


def test_failing_job_ends_backoff_limit_exceeded(kubectl, namespace):
    failing = {"kdash.io/fake-exit-code": "3", "kdash.io/fake-run-seconds": "1"}
    kubectl("apply", "-n", namespace, "-f", "-", input=job_manifest("bad", annotations=failing, backoff=1))
    job = wait_for(lambda: (j := get(kubectl, namespace, "job/bad")) and core_jobs.job_status(j) == "Failed" and j,
                   timeout=90, message="job bad Failed")
    assert core_jobs.job_status_text(job) == "Failed: BackoffLimitExceeded"
    assert core_jobs.job_failure_reason(job) == "BackoffLimitExceeded"
    statuses = [pod_status(p) for p in pods_of(kubectl, namespace, "bad")]
    assert statuses and set(statuses) == {"Error"}
    pod = pods_of(kubectl, namespace, "bad")[0]
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


def test_on_failure_restarts_in_place_until_the_limit(kubectl, namespace):
    failing = {"kdash.io/fake-exit-code": "137", "kdash.io/fake-exit-reason": "OOMKilled",
               "kdash.io/fake-run-seconds": "1"}
    kubectl("apply", "-n", namespace, "-f", "-",
            input=job_manifest("oom", annotations=failing, restart="OnFailure", backoff=1))
    # One pod, restarted by the kubelet (not replaced by the controller), its last run OOMKilled.
    pod = wait_for(lambda: next((p for p in pods_of(kubectl, namespace, "oom")
                                 if p["status"].get("containerStatuses", [{}])[0].get("restartCount")), None),
                   timeout=60, message="a restarted pod")
    last = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (137, "OOMKilled")
    job = wait_for(lambda: (j := get(kubectl, namespace, "job/oom")) and core_jobs.job_status(j) == "Failed" and j,
                   timeout=90, message="job oom Failed")
    assert core_jobs.job_failure_reason(job) == "BackoffLimitExceeded"
