"""CronJob trigger-now (a Job from its template, as `kubectl create job --from=cronjob/x`), suspend/resume,
and deleting a Job with its pods."""

from __future__ import annotations

import copy
import re
import secrets
import string
from typing import Any

from kdash.actions.http import api_error, changed_meanwhile
from kdash.actions.safety import WriteContext, target_of
from kdash.core import objects
from kdash.core.jobs import INSTANTIATE_ANNOTATION, job_template
from kdash.core.kinds import CRONJOB, JOB, Kind
from kdash.core.objects import Obj
from kdash.errors import ApiException, KdashError
from kdash.kube.api import ApiClient
from kdash.kube.discovery import served_kind

MERGE_PATCH = "application/merge-patch+json"
# A Job's name ends up in its pods' job-name label: at most 63 characters, DNS-1123 label syntax.
MAX_JOB_NAME = 63
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class InvalidJobName(KdashError):
    def __init__(self, message: str) -> None:
        super().__init__("Invalid Job name", message)


def default_job_name(cronjob_name: str) -> str:
    """"<cronjob>-manual-<5 random>" (k9s' shape), cut so the whole stays a valid label."""
    suffix = "-manual-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))
    return cronjob_name[:MAX_JOB_NAME - len(suffix)].rstrip("-") + suffix


def parse_job_name(text: str) -> str:
    """The Job name typed, or InvalidJobName saying what is wrong with it."""
    name = text.strip()
    if not name:
        raise InvalidJobName("enter a name for the Job")
    if len(name) > MAX_JOB_NAME:
        raise InvalidJobName(f"{name[:20]}… is {len(name)} characters; at most {MAX_JOB_NAME}")
    if not _DNS_LABEL.fullmatch(name):
        raise InvalidJobName(f"{name!r}: lower-case letters, digits and '-', starting and ending with a "
                             "letter or digit")
    return name


def job_from_cronjob(cronjob: Obj, name: str) -> dict[str, Any]:
    """The Job `kubectl create job NAME --from=cronjob/X` creates: the template's labels, its annotations
    plus cronjob.kubernetes.io/instantiate=manual, a controller ownerReference to the CronJob (no
    blockOwnerDeletion, which would need the cronjobs/finalizers right), the template's spec."""
    template = copy.deepcopy(dict(job_template(cronjob)))
    meta = template.get("metadata") or {}
    ref = {"apiVersion": cronjob.get("apiVersion") or CRONJOB.api_version, "kind": "CronJob",
           "name": objects.name(cronjob), "uid": objects.uid(cronjob), "controller": True}
    metadata: dict[str, Any] = {"name": name, "namespace": objects.namespace(cronjob),
                                "annotations": {INSTANTIATE_ANNOTATION: "manual", **(meta.get("annotations") or {})},
                                "ownerReferences": [ref]}
    if meta.get("labels"):
        metadata["labels"] = dict(meta["labels"])
    return {"apiVersion": JOB.api_version, "kind": "Job", "metadata": metadata, "spec": template.get("spec") or {}}


def trigger(ctx: WriteContext, cronjob: Obj, name: str, *, dry_run: bool = False) -> str:
    """Create the Job (with `dry_run`, the server checks and defaults it, stores nothing)."""
    namespace, cron_name = objects.namespace(cronjob), objects.name(cronjob)
    body = job_from_cronjob(cronjob, parse_job_name(name))
    what = f"Job {namespace}/{name}"
    with ctx.attempt("trigger", target_of("CronJob", namespace, cron_name), dry_run=dry_run) as attempt:
        job = _served(ctx.api_client, JOB)
        body["apiVersion"] = job.api_version
        try:
            attempt.send("POST", job.list_path(namespace), body)
        except ApiException as exc:
            if exc.status == 409:
                raise KdashError("Already exists", f"{what} already exists; nothing was created") from exc
            raise api_error(exc, f"CronJob {namespace}/{cron_name}") from exc
        attempt.detail = f"job {name}"
    return f"{'dry run: would create' if dry_run else 'created'} {what} from CronJob {cron_name}"


def set_suspend(ctx: WriteContext, cronjob: Obj, suspend: bool) -> str:
    """Suspend (no new Jobs are scheduled; running ones go on) or resume the CronJob.

    The patch carries the resourceVersion the user saw: a CronJob changed since is refused, not overwritten.
    """
    namespace, name = objects.namespace(cronjob), objects.name(cronjob)
    what = f"CronJob {namespace}/{name}"
    word = "suspend" if suspend else "resume"
    patch = {"metadata": {"resourceVersion": objects.resource_version(cronjob)}, "spec": {"suspend": suspend}}
    with ctx.attempt(word, target_of("CronJob", namespace, name)) as attempt:
        kind = _served(ctx.api_client, CRONJOB)
        try:
            attempt.send("PATCH", kind.object_path(namespace, name), patch, content_type=MERGE_PATCH)
        except ApiException as exc:
            raise api_error(exc, what, conflict=changed_meanwhile(what)) from exc
        attempt.detail = f"suspend {bool((cronjob.get('spec') or {}).get('suspend'))} -> {suspend}"
    return f"{'suspended' if suspend else 'resumed'} {what}"


def delete_job(ctx: WriteContext, namespace: str, name: str, uid: str | None = None) -> str:
    """Delete the Job and, in the background, its pods (propagationPolicy Background: kubectl's
    default for Jobs; the API's own default for batch/v1 Jobs would orphan them). With `uid`, only
    the very Job selected."""
    what = f"Job {namespace}/{name}"
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
    if uid:
        body["preconditions"] = {"uid": uid}
    with ctx.attempt("delete", target_of("Job", namespace, name)) as attempt:
        try:
            attempt.send("DELETE", _served(ctx.api_client, JOB).object_path(namespace, name), body)
        except ApiException as exc:
            if exc.status == 409 and uid:
                raise KdashError("Job replaced", f"{what} is no longer the selected Job; nothing was deleted") \
                    from exc
            raise api_error(exc, what) from exc
        attempt.detail = "propagation Background" + (f", uid {uid}" if uid else "")
    return f"deleted {what} (its pods go in the background)"


def _served(api_client: ApiClient, kind: Kind) -> Kind:
    served = served_kind(api_client, kind)
    if served is None:
        raise KdashError(f"{kind.plural} unavailable", f"this API server serves none of {', '.join(kind.versions)}")
    return served
