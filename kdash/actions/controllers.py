"""StatefulSet and DaemonSet writes kubectl has: undo to a ControllerRevision, and a StatefulSet's partition."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kdash.actions.http import CONFLICT_RETRIES, STRATEGIC_MERGE_PATCH, api_error, backoff, changed_meanwhile
from kdash.actions.rollout import label_selector
from kdash.actions.safety import Attempt, WriteContext, target_of
from kdash.core import objects
from kdash.core import revisions as core_revisions
from kdash.core import statefulsets as core_sts
from kdash.core.kinds import CONTROLLERREVISION, DAEMONSET, POD, STATEFULSET, Kind
from kdash.core.rollout import Revision
from kdash.errors import ApiException, KdashError
from kdash.kube.api import ApiClient
from kdash.kube.client import get_json

KINDS: dict[str, Kind] = {"StatefulSet": STATEFULSET, "DaemonSet": DAEMONSET}
_DIGITS = re.compile(r"[0-9]+")


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KdashError("Not supported", f"{name} has no ControllerRevision history") from None


def read(api_client: ApiClient, kind: str, namespace: str, name: str) -> dict[str, Any]:
    """GET the StatefulSet or DaemonSet as a raw dict (kind stamped); KdashError when it cannot be read."""
    try:
        obj = get_json(api_client, kind_of(kind).object_path(namespace, name))
    except KdashError:
        raise
    except Exception as exc:
        raise api_error(exc, f"{kind} {namespace}/{name}") from exc
    return dict(obj, kind=kind)


def _selected(api_client: ApiClient, kind: Kind, workload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Objects of `kind` the workload's selector picks in its namespace (kubectl lists the same way)."""
    namespace = objects.namespace(workload)
    selector = label_selector((workload.get("spec") or {}).get("selector") or {})
    try:
        return get_json(api_client, kind.list_path(namespace),
                        [("labelSelector", selector)] if selector else None).get("items") or []
    except Exception as exc:
        raise api_error(exc, f"{kind.plural} in {namespace}") from exc


def controller_revisions(api_client: ApiClient, workload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The workload's ControllerRevisions, oldest first (its selector, then controlled by its uid)."""
    return core_revisions.owned_revisions(workload, _selected(api_client, CONTROLLERREVISION, workload))


def history(api_client: ApiClient, kind: str, namespace: str, name: str) -> list[Revision]:
    """`kubectl rollout history sts|ds/NAME` rows, newest first, with the pods of each revision."""
    workload = read(api_client, kind, namespace, name)
    return core_revisions.history(workload, controller_revisions(api_client, workload),
                                  _selected(api_client, POD, workload))


# -- undo ----------------------------------------------------------------------------------------


def undo(ctx: WriteContext, kind: str, namespace: str, name: str, to_revision: int | None = None,
         revision_uid: str | None = None, *, dry_run: bool = False) -> str:
    """Restore a revision's template like `kubectl rollout undo sts|ds/NAME [--to-revision=N]`:
    a strategic merge patch of the revision's `data`; returns a one-line summary.

    `revision_uid` (the revision the confirmation named) must still be that revision. The patch
    carries the resourceVersion that was read: a change of the spec meanwhile fails cleanly, a
    status-only change (pods coming up) is retried. With `dry_run` the server computes the
    result (dryRun=All) and nothing changes; the summary names the images it would run.
    """
    what = f"{kind} {namespace}/{name}"
    with ctx.attempt("undo", target_of(kind, namespace, name), dry_run=dry_run) as attempt:
        plan, result = _undo_with_retries(ctx, attempt, kind, namespace, name, (to_revision, revision_uid), what)
        images = ", ".join(plan.images)
        attempt.detail = f"to revision {plan.revision} ({images})"
    if dry_run:
        template = ((result.get("spec") or {}).get("template") or {}).get("spec") or {}
        would = ", ".join(c.get("image", "") for c in template.get("containers") or ())
        return f"dry run: {what} would go back to revision {plan.revision} ({would})"
    return f"rolled {what} back to revision {plan.revision} ({images})"


def _undo_with_retries(ctx: WriteContext, attempt: Attempt, kind: str, namespace: str, name: str,
                       target: tuple[int | None, str | None],
                       what: str) -> tuple[core_revisions.RevisionUndo, dict[str, Any]]:
    first = read(ctx.api_client, kind, namespace, name)
    workload = first
    for tries in range(CONFLICT_RETRIES):
        if tries:
            backoff(tries)
            workload = _same_spec_or_fail(first, read(ctx.api_client, kind, namespace, name), what)
        try:
            plan = core_revisions.undo_plan(workload, controller_revisions(ctx.api_client, workload), *target)
        except core_revisions.RevisionError as exc:
            raise KdashError(exc.title, exc.message) from None
        patch = dict(plan.patch, metadata={"resourceVersion": objects.resource_version(workload)})
        try:
            result = attempt.send("PATCH", kind_of(kind).object_path(namespace, name), patch,
                                  content_type=STRATEGIC_MERGE_PATCH)
            return plan, result
        except ApiException as exc:
            if exc.status != 409:
                raise api_error(exc, what) from exc
    raise KdashError("Changed meanwhile", changed_meanwhile(what))


def _same_spec_or_fail(seen: Mapping[str, Any], fresh: dict[str, Any], what: str) -> dict[str, Any]:
    """`fresh` if only its status moved since `seen`, else the "changed meanwhile" error."""
    if objects.meta(seen).get("generation") != objects.meta(fresh).get("generation"):
        raise KdashError("Changed meanwhile", changed_meanwhile(what))
    return fresh


# -- partition -----------------------------------------------------------------------------------


class InvalidPartition(KdashError):
    def __init__(self, message: str) -> None:
        super().__init__("Invalid partition", message)


def parse_partition(text: str, sts: Mapping[str, Any]) -> int:
    """The partition typed for `sts`, or InvalidPartition saying what is wrong with it."""
    value = text.strip()
    if not value:
        raise InvalidPartition("enter an ordinal: pods at or above it get the new revision")
    if value.startswith("-") and _DIGITS.fullmatch(value[1:]):
        raise InvalidPartition(f"{value} is negative; the partition is an ordinal, 0 or more")
    if not _DIGITS.fullmatch(value) or len(value) > 6:
        raise InvalidPartition(f"{value[:12]!r} is not a whole number of at most 6 digits")
    try:
        return core_sts.check_partition(int(value), sts)
    except ValueError as exc:
        raise InvalidPartition(str(exc)) from None


def set_partition(ctx: WriteContext, namespace: str, name: str, partition: int, *,
                  expected_partition: int | None = None, dry_run: bool = False) -> str:
    """Set the StatefulSet's rollingUpdate.partition (a staged rollout lowers it step by step).

    `expected_partition` is the partition the user saw: if it moved meanwhile nothing changes.
    The patch carries the resourceVersion read; a status-only change is retried.
    """
    what = f"StatefulSet {namespace}/{name}"
    with ctx.attempt("partition", target_of("StatefulSet", namespace, name), dry_run=dry_run) as attempt:
        first = sts = read(ctx.api_client, "StatefulSet", namespace, name)
        before = core_sts.partition(sts)
        if expected_partition is not None and before != expected_partition:
            raise KdashError("Changed meanwhile", f"{what} now has partition {before}, not {expected_partition}; "
                             "nothing was changed — reload and retry")
        try:
            core_sts.check_partition(partition, sts)
        except ValueError as exc:
            raise InvalidPartition(str(exc)) from None
        for tries in range(CONFLICT_RETRIES):
            if tries:
                backoff(tries)
                sts = _same_spec_or_fail(first, read(ctx.api_client, "StatefulSet", namespace, name), what)
            patch = {"metadata": {"resourceVersion": objects.resource_version(sts)},
                     "spec": {"updateStrategy": {"type": core_sts.ROLLING_UPDATE,
                                                 "rollingUpdate": {"partition": partition}}}}
            try:
                attempt.send("PATCH", STATEFULSET.object_path(namespace, name), patch,
                             content_type=STRATEGIC_MERGE_PATCH)
                break
            except ApiException as exc:
                if exc.status != 409:
                    raise api_error(exc, what) from exc
        else:
            raise KdashError("Changed meanwhile", changed_meanwhile(what))
        attempt.detail = f"partition {before} -> {partition}"
    updated = max(core_sts.replicas(sts) - partition, 0)
    prefix = "dry run: would set" if dry_run else "set"
    return f"{prefix} the partition of {what} from {before} to {partition} ({updated} of {core_sts.replicas(sts)} " \
           "pods get the update revision)"
