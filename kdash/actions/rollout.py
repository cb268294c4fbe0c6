"""Rollout history, status, undo (exactly like `kubectl rollout undo`) and restart of a Deployment."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kdash.actions.http import (
    CONFLICT_RETRIES,
    STRATEGIC_MERGE_PATCH,
    api_error,
    backoff,
    changed_meanwhile,
    status_of,
)
from kdash.actions.safety import Attempt, WriteContext, target_of
from kdash.core import objects
from kdash.core import rollout as core_rollout
from kdash.core.kinds import DEPLOYMENT, REPLICASET, Kind
from kdash.core.rollout import REVISION_ANNOTATION, Revision, RolloutStatus
from kdash.errors import ApiException, KdashError
from kdash.kube.api import JSON_PATCH, ApiClient
from kdash.kube.client import get_json

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# kubectl's annotationsToSkip (polymorphichelpers/rollback.go): these stay the Deployment's own
# on undo, every other annotation is taken from the target ReplicaSet.
SKIP_ANNOTATIONS = frozenset({
    objects.LAST_APPLIED,
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
})
CONTROLLER_ANNOTATIONS = frozenset({REVISION_ANNOTATION, "deployment.kubernetes.io/revision-history"})


@dataclass(frozen=True)
class UndoPlan:
    """The JSON Patch that rolls a Deployment back to `revision`, and what it will run."""

    revision: int
    images: tuple[str, ...]
    patch: list[dict[str, Any]]


# -- reading -------------------------------------------------------------------------------------


def read_deployment(api_client: ApiClient, namespace: str, name: str) -> dict[str, Any]:
    """GET the Deployment as a raw dict; KdashError when it cannot be read."""
    try:
        return get_json(api_client, DEPLOYMENT.object_path(namespace, name))
    except Exception as exc:
        raise api_error(exc, f"Deployment {namespace}/{name}") from exc


def owned_replicasets(api_client: ApiClient, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """The ReplicaSets the Deployment controls (kubectl's rule: its selector, then owner uid)."""
    namespace = objects.namespace(deployment)
    selector = label_selector((deployment.get("spec") or {}).get("selector") or {})
    try:
        items = get_json(api_client, REPLICASET.list_path(namespace),
                         [("labelSelector", selector)] if selector else None).get("items") or []
    except Exception as exc:
        raise api_error(exc, f"ReplicaSets in {namespace}") from exc
    return [dict(rs, kind="ReplicaSet") for rs in core_rollout.owned_replicasets(deployment, items)]


def label_selector(selector: dict[str, Any]) -> str:
    """A LabelSelector (matchLabels and matchExpressions) as a labelSelector query string."""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def history(api_client: ApiClient, namespace: str, name: str) -> list[Revision]:
    """The Deployment's revisions, newest first (`kubectl rollout history`, plus details)."""
    deployment = read_deployment(api_client, namespace, name)
    return core_rollout.history(deployment, owned_replicasets(api_client, deployment))


def status(api_client: ApiClient, namespace: str, name: str) -> RolloutStatus:
    """Where the Deployment's rollout stands (`kubectl rollout status`, one shot)."""
    deployment = read_deployment(api_client, namespace, name)
    return core_rollout.rollout_status(deployment, owned_replicasets(api_client, deployment))


# -- undo ----------------------------------------------------------------------------------------


def undo_patch(deployment: Mapping[str, Any], replicasets: Sequence[Mapping[str, Any]],
               to_revision: int | None = None, replicaset_uid: str | None = None) -> UndoPlan:
    """What `kubectl rollout undo [--to-revision=N]` would send, plus a resourceVersion test.

    Pure: raises KdashError for a paused Deployment, a missing revision, or a target whose
    template is already the Deployment's. Works mid-rollout: the target is picked by revision
    number, not by which ReplicaSet is healthy. With `replicaset_uid` (the ReplicaSet the user
    was shown as revision `to_revision`) it must still be that ReplicaSet at that revision:
    a revision number alone may have moved to other pods since.
    """
    what = f"Deployment {objects.namespace(deployment)}/{objects.name(deployment)}"
    if (deployment.get("spec") or {}).get("paused"):
        raise KdashError("Cannot undo", f"{what} is paused; resume it first (kubectl rollout resume)")
    owned = core_rollout.owned_replicasets(deployment, replicasets)
    if replicaset_uid is not None and to_revision is not None:
        target = _shown_replicaset(owned, to_revision, replicaset_uid, what)
    else:
        target = _target_replicaset(owned, to_revision, what)
    revision = core_rollout.revision_of(target)
    template = copy.deepcopy((target.get("spec") or {}).get("template") or {})
    (objects.meta(template).get("labels") or {}).pop(core_rollout.HASH_LABEL, None)
    if core_rollout.templates_equal(template, (deployment.get("spec") or {}).get("template") or {}):
        raise KdashError("Nothing to undo", f"{what} already runs revision {revision}'s template")
    annotations = {k: v for k, v in objects.annotations(deployment).items() if k in SKIP_ANNOTATIONS}
    annotations.update({k: v for k, v in objects.annotations(target).items() if k not in SKIP_ANNOTATIONS})
    # "replace" needs the member to exist; "add" on an existing member replaces it (RFC 6902).
    annotations_op = "replace" if "annotations" in objects.meta(deployment) else "add"
    patch: list[dict[str, Any]] = [
        # Applied by the server to the current object: any change since our read fails the test.
        {"op": "test", "path": "/metadata/resourceVersion", "value": objects.resource_version(deployment)},
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": annotations_op, "path": "/metadata/annotations", "value": annotations},
    ]
    return UndoPlan(revision, core_rollout.container_images(template.get("spec") or {}, short=False), patch)


def _target_replicaset(owned: Sequence[Mapping[str, Any]], to_revision: int | None, what: str) -> Mapping[str, Any]:
    by_revision = {core_rollout.revision_of(rs): rs for rs in owned}
    if to_revision is None:
        # kubectl's --to-revision=0: the second-highest revision among the owned ReplicaSets.
        revisions = sorted(by_revision)
        if len(revisions) < 2:
            raise KdashError("Nothing to undo", f"{what} has no previous revision")
        return by_revision[revisions[-2]]
    if to_revision not in by_revision or to_revision <= 0:
        known = ", ".join(str(r) for r in sorted(by_revision) if r > 0) or "none"
        raise KdashError("Revision not found",
                         f"revision {to_revision} not found in the history of {what} (known: {known})")
    return by_revision[to_revision]


def _shown_replicaset(owned: Sequence[Mapping[str, Any]], revision: int, uid: str, what: str) -> Mapping[str, Any]:
    target = next((rs for rs in owned if objects.uid(rs) == uid), None)
    if target is None:
        raise KdashError("Revision gone", f"revision {revision} of {what} no longer exists (its ReplicaSet "
                         "was deleted); nothing was changed")
    now = core_rollout.revision_of(target)
    if now != revision:
        raise KdashError("Revision gone", f"revision {revision} of {what} is revision {now} now (another "
                         "rollout or undo came first); nothing was changed")
    return target


def undo(ctx: WriteContext, namespace: str, name: str, to_revision: int | None = None,
         replicaset_uid: str | None = None) -> str:
    """Roll the Deployment back to the previous revision, or to `to_revision` (held by the
    ReplicaSet `replicaset_uid` when given: the one the confirmation named); returns a summary.

    The JSON Patch tests the resourceVersion that was read. When that test fails only because
    the status moved (a rollout in progress updates it every few seconds) the undo is
    recomputed and retried; a change of the spec or the annotations fails cleanly instead.
    """
    what = f"Deployment {namespace}/{name}"
    with ctx.attempt("undo", target_of("Deployment", namespace, name)) as attempt:
        plan = _undo_with_retries(ctx, attempt, namespace, name, (to_revision, replicaset_uid), what)
        attempt.detail = f"to revision {plan.revision} ({', '.join(plan.images)})"
    return f"rolled {what} back to revision {plan.revision} ({', '.join(plan.images)})"


def _undo_with_retries(ctx: WriteContext, attempt: Attempt, namespace: str, name: str,
                       target: tuple[int | None, str | None], what: str) -> UndoPlan:
    first = deployment = read_deployment(ctx.api_client, namespace, name)
    for tries in range(CONFLICT_RETRIES):
        if tries:
            backoff(tries)
            deployment = read_deployment(ctx.api_client, namespace, name)
            # Anchored to the first read: what the user decided on must still be what is there.
            if not _same_intent(first, deployment):
                raise KdashError("Changed meanwhile", changed_meanwhile(what))
        plan = undo_patch(deployment, owned_replicasets(ctx.api_client, deployment), *target)
        try:
            attempt.send("PATCH", DEPLOYMENT.object_path(namespace, name), plan.patch,
                         content_type=JSON_PATCH)
            return plan
        except ApiException as exc:
            if not _test_failed(exc):
                raise api_error(exc, what) from exc
    raise KdashError("Changed meanwhile", changed_meanwhile(what))


def _test_failed(exc: ApiException) -> bool:
    # A failed JSON-Patch "test" is a bare 422 Invalid without causes; validation errors list causes.
    if exc.status != 422:
        return False
    details = status_of(exc).get("details") or {}
    return not details.get("causes")


def _same_intent(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Only the controller moved: same spec generation, same user annotations (undo rewrites them).

    The controller itself bumps the revision annotation shortly after a rollout starts.
    """
    return (objects.meta(before).get("generation") == objects.meta(after).get("generation")
            and _user_annotations(before) == _user_annotations(after))


def _user_annotations(deployment: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in objects.annotations(deployment).items() if k not in CONTROLLER_ANNOTATIONS}


# -- restart -------------------------------------------------------------------------------------


def restart(ctx: WriteContext, namespace: str, name: str, *, now: datetime | None = None,
            kind: Kind = DEPLOYMENT) -> str:
    """Restart every pod by stamping the template, like `kubectl rollout restart` (Deployments,
    StatefulSets and DaemonSets alike); returns a summary."""
    what = f"{kind.name} {namespace}/{name}"
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with ctx.attempt("restart", target_of(kind.name, namespace, name)) as attempt:
        try:
            workload = get_json(ctx.api_client, kind.object_path(namespace, name))
        except Exception as exc:
            raise api_error(exc, what) from exc
        _check_restartable(workload, stamp, what)
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        try:
            attempt.send("PATCH", kind.object_path(namespace, name), patch, content_type=STRATEGIC_MERGE_PATCH)
        except ApiException as exc:
            raise api_error(exc, what) from exc
        attempt.detail = f"{RESTARTED_AT}={stamp}"
    return f"restarted {what} (new rollout at {stamp})"


def _check_restartable(deployment: dict[str, Any], stamp: str, what: str) -> None:
    spec = deployment.get("spec") or {}
    if spec.get("paused"):
        raise KdashError("Cannot restart", f"{what} is paused; resume it first")
    template_annotations = objects.annotations(spec.get("template") or {})
    if template_annotations.get(RESTARTED_AT) == stamp:
        # kubectl's wording for the same case: the stamp has second resolution.
        raise KdashError("Cannot restart", f"{what} was restarted less than a second ago; try again")


def patch_deployment(attempt: Attempt, namespace: str, name: str, patch: dict[str, Any], what: str) -> None:
    """A strategic-merge PATCH of the Deployment through `attempt`; API errors name `what`."""
    try:
        attempt.send("PATCH", DEPLOYMENT.object_path(namespace, name), patch, content_type=STRATEGIC_MERGE_PATCH)
    except ApiException as exc:
        raise api_error(exc, what) from exc
