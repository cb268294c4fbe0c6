"""Job and CronJob status as kubectl prints them (printJob, printCronJob): STATUS, COMPLETIONS, DURATION."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kdash.core import objects
from kdash.core.objects import Obj, is_terminating
from kdash.core.pods import Health
from kdash.core.values import parse_time

# What `kubectl create job --from=cronjob/x` stamps on the Job it makes.
INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate"
# kubectl's printJob checks conditions in this order; the first True one is the STATUS.
_STATUS_CONDITIONS = ("Complete", "Failed")
_PENDING_CONDITIONS = ("Suspended", "FailureTarget", "SuccessCriteriaMet")


def condition(obj: Obj, kind: str) -> Mapping[str, Any] | None:
    """The status condition of type `kind`, if any."""
    for each in (obj.get("status") or {}).get("conditions") or ():
        if each.get("type") == kind:
            return each
    return None


def _is(obj: Obj, kind: str) -> bool:
    found = condition(obj, kind)
    return found is not None and found.get("status") == "True"


def job_status(job: Obj) -> str:
    """kubectl's STATUS word: Complete, Failed, Terminating, Suspended, FailureTarget,
    SuccessCriteriaMet or Running."""
    for kind in _STATUS_CONDITIONS:
        if _is(job, kind):
            return kind
    if is_terminating(job):
        return "Terminating"
    for kind in _PENDING_CONDITIONS:
        if _is(job, kind):
            return kind
    return "Running"


def job_failure_reason(job: Obj) -> str:
    """Why a Job failed (the Failed condition's reason: BackoffLimitExceeded, DeadlineExceeded…), else ""."""
    found = condition(job, "Failed")
    return (found.get("reason") or "") if found and found.get("status") == "True" else ""


def job_status_text(job: Obj) -> str:
    """STATUS with the reason of a failure: "Failed: BackoffLimitExceeded" (what `kubectl describe` adds)."""
    status = job_status(job)
    reason = job_failure_reason(job) if status == "Failed" else ""
    return f"{status}: {reason}" if reason else status


def job_health(job: Obj) -> Health:
    status = job_status(job)
    if status == "Complete":
        return "ok"
    if status in ("Failed", "FailureTarget"):
        return "error"
    if status == "Terminating":
        return "terminating"
    if status == "Suspended":
        return "none"
    # Running with failed pods behind it is retrying (backing off): say so.
    return "warning" if _int((job.get("status") or {}).get("failed")) else "progressing"


def completions(job: Obj) -> str:
    """COMPLETIONS: "2/3"; without spec.completions "1/1", or "0/1 of 4" with parallelism > 1."""
    spec = job.get("spec") or {}
    succeeded = _int((job.get("status") or {}).get("succeeded"))
    if spec.get("completions") is not None:
        return f"{succeeded}/{_int(spec['completions'])}"
    parallelism = _int(spec.get("parallelism"), 1)
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def duration(job: Obj, now: datetime) -> timedelta | None:
    """DURATION: start to completion, or start to now while it runs; None before it started."""
    status = job.get("status") or {}
    start = parse_time(status.get("startTime"))
    if start is None:
        return None
    end = parse_time(status.get("completionTime")) or now
    return max(end - start, timedelta(0))


@dataclass(frozen=True)
class JobCounts:
    active: int
    succeeded: int
    failed: int
    parallelism: int
    backoff_limit: int


def job_counts(job: Obj) -> JobCounts:
    """Active/succeeded/failed pods and the spec's parallelism and backoffLimit (API defaults 1 and 6)."""
    spec = job.get("spec") or {}
    status = job.get("status") or {}
    return JobCounts(_int(status.get("active")), _int(status.get("succeeded")), _int(status.get("failed")),
                     _int(spec.get("parallelism"), 1), _int(spec.get("backoffLimit"), 6))


def backoff_text(job: Obj) -> str:
    """"backoff 2/6" while failed pods count against the limit of an unfinished Job, else ""."""
    counts = job_counts(job)
    if not counts.failed or job_status(job) in ("Complete", "Failed"):
        return ""
    return f"backoff {counts.failed}/{counts.backoff_limit}"


def is_manual(job: Obj) -> bool:
    """Made by "trigger now" (kubectl create job --from=cronjob/…), not by the schedule."""
    return objects.annotations(job).get(INSTANTIATE_ANNOTATION) == "manual"


def cronjob_uid(job: Obj) -> str | None:
    """The uid of the CronJob that made a Job: its controller, or (kubectl ≤ 1.21's `create job
    --from=cronjob/…` sets no `controller: true`) any CronJob ownerReference."""
    ref = objects.controller_ref(job)
    if ref is not None:
        return ref.get("uid") if ref.get("kind") == "CronJob" else None
    return next((r.get("uid") for r in objects.meta(job).get("ownerReferences") or () if r.get("kind") == "CronJob"),
                None)


def newest_first(jobs: Iterable[Obj]) -> list[Obj]:
    """Jobs by creation time, newest first (then by name, so the order is stable)."""
    def created(job: Obj) -> str:
        return (job.get("metadata") or {}).get("creationTimestamp") or ""
    return sorted(sorted(jobs, key=lambda j: (j.get("metadata") or {}).get("name", "")), key=created,
                  reverse=True)


# -- CronJob ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CronJobStatus:
    schedule: str
    suspended: bool
    active: int
    last_schedule: datetime | None
    last_success: datetime | None
    time_zone: str


def cronjob_status(cronjob: Obj) -> CronJobStatus:
    """SCHEDULE, SUSPEND, ACTIVE, LAST SCHEDULE (batch/v1 and batch/v1beta1 have the same fields;
    lastSuccessfulTime and timeZone exist on newer servers only)."""
    spec = cronjob.get("spec") or {}
    status = cronjob.get("status") or {}
    return CronJobStatus(spec.get("schedule") or "", bool(spec.get("suspend")), len(status.get("active") or ()),
                         parse_time(status.get("lastScheduleTime")), parse_time(status.get("lastSuccessfulTime")),
                         spec.get("timeZone") or "")


def cronjob_health(cronjob: Obj, jobs: Iterable[Obj] = ()) -> Health:
    """Suspended: none; the newest Job failed: error; one is running: progressing; else ok."""
    status = cronjob_status(cronjob)
    if status.suspended:
        return "none"
    newest = newest_first(jobs)
    if newest and job_status(newest[0]) == "Failed":
        return "error"
    return "progressing" if status.active else "ok"


def job_template(cronjob: Obj) -> Mapping[str, Any]:
    """spec.jobTemplate ({} if absent)."""
    return (cronjob.get("spec") or {}).get("jobTemplate") or {}


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default
