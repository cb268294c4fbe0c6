"""StatefulSet and DaemonSet history through ControllerRevisions, as `kubectl rollout history/undo` read it."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kdash.core import objects
from kdash.core.pods import is_pod_ready
from kdash.core.rollout import CHANGE_CAUSE_ANNOTATION, Revision, container_images, templates_equal
from kdash.core.values import parse_time

# The label the StatefulSet and DaemonSet controllers put on their pods: the name's hash part of
# the ControllerRevision a pod was made from.
REVISION_HASH_LABEL = "controller-revision-hash"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RevisionError(ValueError):
    """An undo that cannot be planned: (title, message) like a KdashError, without importing one."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


@dataclass(frozen=True)
class RevisionUndo:
    """The strategic merge patch that restores a ControllerRevision's template (kubectl's body:
    the revision's `data` as stored), and what it will run."""

    revision: int
    name: str
    uid: str
    images: tuple[str, ...]
    patch: Mapping[str, Any]


def revision_number(revision: Mapping[str, Any]) -> int:
    value = revision.get("revision")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def owned_revisions(owner: Mapping[str, Any], revisions: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ControllerRevisions the workload controls, by uid (kubectl also filters by the
    selector first: only a smaller LIST), oldest revision first."""
    uid = objects.uid(owner)
    owned = [r for r in revisions if objects.is_controlled_by(r, uid)]
    return sorted(owned, key=lambda r: (revision_number(r), objects.name(r)))


def revision_template(revision: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod template a revision stores (`data.spec.template`, without the `$patch` directive)."""
    template = (((revision.get("data") or {}).get("spec") or {}).get("template")) or {}
    return {k: v for k, v in template.items() if k != "$patch"}


def revision_keys(revision: Mapping[str, Any]) -> frozenset[str]:
    """The values a pod made from this revision carries in `controller-revision-hash`: StatefulSet
    pods the revision's name ("web-5d4b7c9f8"), DaemonSet pods only its hash ("5d4b7c9f8")."""
    name = objects.name(revision)
    keys = {name, name.rpartition("-")[2]}
    label = objects.labels(revision).get(REVISION_HASH_LABEL)
    if label:
        keys.add(label)
    return frozenset(keys - {""})


def pod_revision_hash(pod: Mapping[str, Any]) -> str:
    """The revision a StatefulSet or DaemonSet pod was made from ("" for other pods)."""
    return objects.labels(pod).get(REVISION_HASH_LABEL, "")


def matches_template(workload: Mapping[str, Any], revision: Mapping[str, Any]) -> bool:
    """The workload already runs this revision's template (kubectl skips the undo then)."""
    return templates_equal(revision_template(revision), (workload.get("spec") or {}).get("template") or {})


def current_revision(workload: Mapping[str, Any], owned: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The revision of the workload's own template: StatefulSets name it in status.updateRevision;
    otherwise (DaemonSets) the newest revision whose template equals the workload's."""
    update = (workload.get("status") or {}).get("updateRevision")
    if update:
        named = next((r for r in owned if objects.name(r) == update), None)
        if named is not None:
            return named
    return next((r for r in reversed(owned) if matches_template(workload, r)), None)


def history(workload: Mapping[str, Any], revisions: Iterable[Mapping[str, Any]],
            pods: Iterable[Mapping[str, Any]] = ()) -> list[Revision]:
    """`kubectl rollout history` rows, newest first; desired/current/ready count the owned pods
    labelled with each revision's hash."""
    owned = owned_revisions(workload, revisions)
    current = current_revision(workload, owned)
    current_uid = objects.uid(current) if current is not None else None
    uid = objects.uid(workload)
    by_hash: dict[str, list[Mapping[str, Any]]] = {}
    for pod in pods:
        if objects.is_controlled_by(pod, uid):
            by_hash.setdefault(pod_revision_hash(pod), []).append(pod)
    rows = [_row(r, [p for key in revision_keys(r) for p in by_hash.get(key, ())], current_uid) for r in owned]
    return sorted(rows, key=lambda r: (r.revision, r.created or _EPOCH), reverse=True)


def _row(revision: Mapping[str, Any], pods: list[Mapping[str, Any]], current_uid: str | None) -> Revision:
    meta = objects.meta(revision)
    return Revision(
        revision=revision_number(revision),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        images=container_images(revision_template(revision).get("spec") or {}),
        change_cause=(meta.get("annotations") or {}).get(CHANGE_CAUSE_ANNOTATION),
        created=parse_time(meta.get("creationTimestamp")),
        desired=len(pods),
        current=len(pods),
        ready=sum(1 for p in pods if is_pod_ready(p)),
        is_current=bool(current_uid) and meta.get("uid") == current_uid,
    )


def undo_plan(workload: Mapping[str, Any], revisions: Iterable[Mapping[str, Any]], to_revision: int | None = None,
              revision_uid: str | None = None) -> RevisionUndo:
    """What `kubectl rollout undo sts|ds/NAME [--to-revision=N]` sends: the target revision's `data`
    as a strategic merge patch (it replaces spec.template whole).

    `to_revision` None is kubectl's 0: the second-highest revision. With `revision_uid` (the
    revision the user was shown), the target must still be that object. Raises RevisionError
    when there is no such revision or the workload already runs its template.
    """
    kind = workload.get("kind") or "workload"
    what = f"{kind} {objects.namespace(workload)}/{objects.name(workload)}"
    owned = owned_revisions(workload, revisions)
    if to_revision is None:
        if len(owned) < 2:
            raise RevisionError("Nothing to undo", f"{what} has no previous revision")
        target = owned[-2]
    else:
        found = next((r for r in owned if revision_number(r) == to_revision), None)
        if found is None or to_revision <= 0:
            known = ", ".join(str(revision_number(r)) for r in owned) or "none"
            raise RevisionError("Revision not found",
                                f"revision {to_revision} not found in the history of {what} (known: {known})")
        target = found
    if revision_uid is not None and objects.uid(target) != revision_uid:
        raise RevisionError("Revision gone", f"revision {to_revision} of {what} is another revision now "
                            "(another rollout or undo came first); nothing was changed")
    number = revision_number(target)
    if matches_template(workload, target):
        raise RevisionError("Nothing to undo", f"{what} already runs revision {number}'s template")
    patch = copy.deepcopy(dict(target.get("data") or {}))
    template = revision_template(target)
    return RevisionUndo(number, objects.name(target), objects.uid(target),
                        container_images(template.get("spec") or {}, short=False), patch)
