"""CronJob trigger-now and suspend, Job delete, and the HPA warning by kind, on the real control plane
(1.20: CronJob batch/v1beta1); kubectl agrees, every attempt has its audit line."""

from __future__ import annotations

import json
import time

import pytest

from devcluster.testing import deployment_manifest, wait_for
from kdash.actions import jobs as job_actions
from kdash.actions import scale
from kdash.actions.safety import AuditLog, ReadOnlyError, WriteContext
from kdash.core import jobs as core_jobs
from kdash.errors import KdashError

CRONJOB = """
apiVersion: batch/v1beta1
kind: CronJob
metadata: {{name: {name}}}
spec:
  schedule: "{schedule}"
  suspend: {suspend}
  jobTemplate:
    metadata:
      labels: {{app: {name}}}
    spec:
      backoffLimit: 1
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: main, image: busybox:1.36}}]
"""


@pytest.fixture
def audit(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "audit.log")


@pytest.fixture
def ctx(connection, audit) -> WriteContext:
    return WriteContext.for_connection(connection, audit=audit)


def get(kubectl, namespace: str, what: str) -> dict:
    return json.loads(kubectl("get", what, "-n", namespace, "-o", "json"))


def create_cronjob(kubectl, namespace: str, name: str, schedule: str = "0 3 * * *", suspend: bool = False) -> dict:
    kubectl("apply", "-n", namespace, "-f", "-",
            input=CRONJOB.format(name=name, schedule=schedule, suspend=str(suspend).lower()))
    return get(kubectl, namespace, f"cronjob/{name}")


def test_trigger_now_dry_run_then_a_job_whose_pods_complete(ctx, kubectl, namespace, audit):
    cronjob = create_cronjob(kubectl, namespace, "report")
    preview = job_actions.trigger(ctx, cronjob, "report-now", dry_run=True)
    assert preview == f"dry run: would create Job {namespace}/report-now from CronJob report"
    assert kubectl("get", "jobs", "-n", namespace, "-o", "name") == ""
    assert job_actions.trigger(ctx, cronjob, "report-now").startswith("created Job")
    job = wait_for(lambda: (j := get(kubectl, namespace, "job/report-now")) and
                   core_jobs.job_status(j) == "Complete" and j, timeout=60, message="triggered job Complete")
    meta = job["metadata"]
    assert meta["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert [(r["kind"], r["name"], r["uid"], r.get("controller")) for r in meta["ownerReferences"]] == [
        ("CronJob", "report", cronjob["metadata"]["uid"], True)]
    assert meta["labels"]["app"] == "report"
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-l", "job-name=report-now", "-o", "json"))["items"]
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"]
    with pytest.raises(KdashError) as again:
        job_actions.trigger(ctx, cronjob, "report-now")
    assert again.value.title == "Already exists"
    assert [(l["verb"], l["object"], l["dry_run"], l["result"]) for l in audit.lines()] == [
        ("trigger", f"CronJob/{namespace}/report", True, "ok"),
        ("trigger", f"CronJob/{namespace}/report", False, "ok"),
        ("trigger", f"CronJob/{namespace}/report", False, "error")]


def test_readonly_refuses_every_job_write_and_audits_it(connection, kubectl, namespace, audit):
    cronjob = create_cronjob(kubectl, namespace, "report")
    readonly = WriteContext.for_connection(connection, readonly=True, audit=audit)
    for write in (lambda: job_actions.trigger(readonly, cronjob, "x-1"),
                  lambda: job_actions.set_suspend(readonly, cronjob, True),
                  lambda: job_actions.delete_job(readonly, namespace, "x-1")):
        with pytest.raises(ReadOnlyError):
            write()
    assert [l["result"] for l in audit.lines()] == ["refused"] * 3
    assert get(kubectl, namespace, "cronjob/report")["spec"]["suspend"] is False
    assert kubectl("get", "jobs", "-n", namespace, "-o", "name") == ""


def test_suspend_stops_schedules(ctx, kubectl, namespace, audit):
    """A pair on a every-minute schedule: once the running one got its first Job from the real cronjob
    controller, the one kdash suspended has none and no lastScheduleTime (at most one minute boundary:
    quicker than watching a suspended CronJob for a minute and hoping the controller looked)."""
    create_cronjob(kubectl, namespace, "kept", schedule="* * * * *")
    paused = create_cronjob(kubectl, namespace, "paused", schedule="* * * * *")
    assert job_actions.set_suspend(ctx, paused, True) == f"suspended CronJob {namespace}/paused"
    assert kubectl("get", "cronjob", "paused", "-n", namespace, "-o", "jsonpath={.spec.suspend}") == "true"
    wait_for(lambda: get(kubectl, namespace, "cronjob/kept").get("status", {}).get("lastScheduleTime"),
             timeout=90, interval=1, message="the running CronJob scheduled")
    time.sleep(1)  # the controller handles both in the same pass; let the second write land
    assert "lastScheduleTime" not in get(kubectl, namespace, "cronjob/paused").get("status", {})
    owners = [r["name"] for j in get(kubectl, namespace, "jobs")["items"] for r in j["metadata"]["ownerReferences"]]
    assert "kept" in owners and "paused" not in owners
    # A stale object (the user's view before our own suspend) is refused, not overwritten.
    with pytest.raises(KdashError) as stale:
        job_actions.set_suspend(ctx, paused, False)
    assert "changed meanwhile" in stale.value.message
    fresh = get(kubectl, namespace, "cronjob/paused")
    assert job_actions.set_suspend(ctx, fresh, False) == f"resumed CronJob {namespace}/paused"
    assert get(kubectl, namespace, "cronjob/paused")["spec"]["suspend"] is False
    assert [(l["verb"], l["result"]) for l in audit.lines()] == [
        ("suspend", "ok"), ("resume", "error"), ("resume", "ok")]


def test_delete_job_takes_its_pods(ctx, kubectl, namespace, audit):
    kubectl("create", "job", "gone", "--image=busybox:1.36", "-n", namespace)
    job = wait_for(lambda: (j := get(kubectl, namespace, "job/gone")) and core_jobs.job_status(j) == "Complete" and j,
                   timeout=60, message="job Complete")
    assert kubectl("get", "pods", "-n", namespace, "-l", "job-name=gone", "-o", "name")
    with pytest.raises(KdashError) as other:
        job_actions.delete_job(ctx, namespace, "gone", uid="not-the-uid")
    assert other.value.title == "Job replaced"
    assert job_actions.delete_job(ctx, namespace, "gone", uid=job["metadata"]["uid"]).startswith("deleted Job")
    wait_for(lambda: kubectl("get", "jobs,pods", "-n", namespace, "-o", "name") == "", timeout=60,
             message="the job and its pods gone")
    assert [(l["verb"], l["result"]) for l in audit.lines()] == [("delete", "error"), ("delete", "ok")]


def test_hpa_for_finds_the_hpa_by_kind_through_discovery(connection, kubectl, namespace):
    kubectl("apply", "-n", namespace, "-f", "-", input=deployment_manifest("web", "nginx:1.25", replicas=1))
    kubectl("autoscale", "deployment", "web", "--min=1", "--max=3", "-n", namespace)
    assert scale.hpa_for(connection.api_client, namespace, "web", "Deployment") == "web"
    assert scale.hpa_for(connection.api_client, namespace, "web", "StatefulSet") is None
