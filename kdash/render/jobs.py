"""The Jobs view: CronJob → its Jobs (newest first) → Pods, then Jobs of no CronJob → Pods."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from kdash.core import jobs as core_jobs
from kdash.core import objects
from kdash.core.objects import Obj
from kdash.core.values import parse_time
from kdash.render.format import NONE, age, human_duration
from kdash.render.tree import Node, display_name, node_key, object_node, pod_node, sorted_by_ns_name, timed_text


def build_jobs_tree(cronjobs: Iterable[Obj], jobs: Iterable[Obj], pods: Iterable[Obj], now: datetime) -> list[Node]:
    """CronJobs (by namespace, name) with their Jobs, then the Jobs no listed CronJob controls.

    A Job belongs to a CronJob by its controller ownerReference (what the cronjob controller and
    `kubectl create job --from=cronjob/…` both set); a Pod to a Job the same way.
    """
    cronjobs, jobs = list(cronjobs), list(jobs)
    everything = [*cronjobs, *jobs]
    show_ns = len({objects.namespace(o) for o in everything}) > 1
    pods_by_owner = _by_owner(pods, objects.owner_uid)
    jobs_by_owner = _by_owner(jobs, core_jobs.cronjob_uid)
    cron_uids = {objects.uid(c) for c in cronjobs}
    nodes = [cronjob_node(c, jobs_by_owner.get(objects.uid(c), []), pods_by_owner, now, show_ns)
             for c in sorted_by_ns_name(cronjobs)]
    standalone = [j for j in jobs if core_jobs.cronjob_uid(j) not in cron_uids]
    nodes.extend(job_node(j, pods_by_owner.get(objects.uid(j), []), now, show_ns)
                 for j in sorted_by_ns_name(standalone))
    return nodes


def cronjob_node(cronjob: Obj, jobs: list[Obj], pods_by_owner: dict[str, list[Obj]], now: datetime,
                 show_ns: bool) -> Node:
    status = core_jobs.cronjob_status(cronjob)
    newest = core_jobs.newest_first(jobs)
    children = tuple(job_node(j, pods_by_owner.get(objects.uid(j), []), now, show_ns) for j in newest)
    last: tuple = ((status.last_schedule, age(status.last_schedule, now)), " ago") if status.last_schedule \
        else (NONE,)
    label, timed = timed_text(f"cronjob {display_name(cronjob, show_ns)}  {status.schedule}  "
                              f"active {status.active}  last schedule ", *last,
                              "  SUSPENDED" if status.suspended else "")
    columns = {
        "schedule": status.schedule,
        "suspend": str(status.suspended),
        "active": str(status.active),
        "last_schedule": age(status.last_schedule, now) if status.last_schedule else NONE,
        "jobs": str(len(jobs)),
        "age": age(objects.meta(cronjob).get("creationTimestamp"), now),
        "api_version": cronjob.get("apiVersion") or "",
    }
    if status.time_zone:
        columns["time_zone"] = status.time_zone
    return object_node("CronJob", cronjob, label, core_jobs.cronjob_health(cronjob, jobs), columns, children,
                       timed=timed)


def job_node(job: Obj, pods: list[Obj], now: datetime, show_ns: bool) -> Node:
    """job NAME  STATUS  COMPLETIONS  DURATION (kubectl get jobs), then the backoff state and age."""
    counts = core_jobs.job_counts(job)
    status = core_jobs.job_status_text(job)
    took = core_jobs.duration(job, now)
    took_text = human_duration(took) if took is not None else NONE
    backoff = core_jobs.backoff_text(job)
    manual = "  manual" if core_jobs.is_manual(job) else ""
    created = objects.meta(job).get("creationTimestamp")
    label, timed = timed_text(f"job {display_name(job, show_ns)}  {status}  {core_jobs.completions(job)}  "
                              f"{took_text}{f'  {backoff}' if backoff else ''}{manual}  ",
                              (_created(job), age(created, now)))
    columns = {
        "status": status,
        "completions": core_jobs.completions(job),
        "duration": took_text,
        "active": str(counts.active),
        "succeeded": str(counts.succeeded),
        "failed": str(counts.failed),
        "parallelism": str(counts.parallelism),
        "backoff_limit": str(counts.backoff_limit),
        "age": age(created, now),
    }
    # A Job shows once (under its CronJob or alone), so its own key is unique; its pods' keys start with it.
    children = tuple(pod_node(p, now, show_ns, key_prefix=node_key("Job", job) + "/")
                     for p in sorted(pods, key=_pod_order))
    return object_node("Job", job, label, core_jobs.job_health(job), columns, children, timed=timed)


def _created(obj: Obj) -> datetime | None:
    return parse_time(objects.meta(obj).get("creationTimestamp"))


def _pod_order(pod: Obj) -> tuple[str, str]:
    # Oldest first: a retried Job's failed attempts read top to bottom in the order they ran.
    return (objects.meta(pod).get("creationTimestamp") or "", objects.name(pod))


def _by_owner(objs: Iterable[Obj], owner_of: Callable[[Obj], str | None]) -> dict[str, list[Obj]]:
    grouped: dict[str, list[Obj]] = {}
    for obj in objs:
        owner = owner_of(obj)
        if owner:
            grouped.setdefault(owner, []).append(obj)
    return grouped
