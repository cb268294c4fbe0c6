"""Deployment rollout status, progress and revision history, as `kubectl rollout` sees them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from kdash.core import objects
from kdash.core.values import int_or_str, parse_time, short_image

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RolloutState = Literal["complete", "progressing", "failed", "paused", "scaled-to-zero"]


@dataclass(frozen=True)
class Condition:
    """One entry of `status.conditions` (Deployment, Pod, …)."""

    type: str
    status: str
    reason: str
    message: str
    last_transition: str
    last_update: str


@dataclass(frozen=True)
class RolloutStatus:
    """Where a Deployment's rollout stands; `message` uses kubectl's exact wording."""

    name: str
    namespace: str
    state: RolloutState
    done: bool
    message: str
    """What `kubectl rollout status` prints (without the trailing newline)."""
    summary: str
    """Short one-liner for labels: "rolling: new RS 2/3, old RS 1"."""
    progress: float
    """0..1 for a progress bar (1.0 when done)."""
    revision: int
    desired: int
    current: int
    updated: int
    ready: int
    available: int
    unavailable: int
    new_rs: str | None
    new_rs_ready: int
    new_rs_desired: int
    old_rs_replicas: int
    """Pods still owned by old ReplicaSets (their status.replicas)."""
    observed: bool
    """The controller has seen the latest spec (observedGeneration ≥ generation)."""
    paused: bool
    strategy: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Revision:
    """One row of `kubectl rollout history`, enriched for the undo picker."""

    revision: int
    name: str
    uid: str
    images: tuple[str, ...]
    change_cause: str | None
    created: datetime | None
    desired: int
    current: int
    ready: int
    is_current: bool
    """This ReplicaSet's template is the Deployment's current template (the "new" RS)."""


def revision_of(obj: Mapping[str, Any]) -> int:
    """The `deployment.kubernetes.io/revision` annotation as an int (0 when missing or bad)."""
    annotations = objects.meta(obj).get("annotations") or {}
    try:
        return int(annotations.get(REVISION_ANNOTATION, "0"))
    except (TypeError, ValueError):
        return 0


def owned_replicasets(deployment: Mapping[str, Any],
                      replicasets: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ReplicaSets this Deployment controls (by uid, so names may repeat across namespaces)."""
    uid = objects.meta(deployment).get("uid")
    return [rs for rs in replicasets if objects.is_controlled_by(rs, uid)]


def new_replicaset(deployment: Mapping[str, Any], replicasets: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The RS running the Deployment's current template (kubectl's FindNewReplicaSet).

    kubectl picks the oldest owned RS whose template equals the Deployment's ignoring
    `pod-template-hash`. Hand-made or partially defaulted objects may not compare equal, so
    once the controller has observed the spec we fall back to the RS carrying the
    Deployment's own revision annotation (the controller keeps the two in step).
    """
    owned = sorted(owned_replicasets(deployment, replicasets), key=_created_key)
    template = (deployment.get("spec") or {}).get("template") or {}
    for rs in owned:
        if templates_equal(((rs.get("spec") or {}).get("template") or {}), template):
            return rs
    revision = revision_of(deployment)
    if revision and _observed(deployment):
        for rs in owned:
            if revision_of(rs) == revision:
                return rs
    return None


def templates_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Pod templates equal ignoring the `pod-template-hash` label (kubectl's EqualIgnoreHash).

    Compares in place instead of deep-copying: this runs for every owned ReplicaSet of every
    Deployment on each render.
    """
    rest_a = {k: v for k, v in a.items() if k != "metadata"}
    rest_b = {k: v for k, v in b.items() if k != "metadata"}
    return rest_a == rest_b and _metadata_equal(a, b)


def _metadata_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    meta_a, meta_b = a.get("metadata") or {}, b.get("metadata") or {}
    # .get() makes a missing key equal to an explicit null (templates carry
    # "creationTimestamp": null); labels are compared without the hash.
    for key in (set(meta_a) | set(meta_b)) - {"labels"}:
        if meta_a.get(key) != meta_b.get(key):
            return False
    return _labels_without_hash(meta_a) == _labels_without_hash(meta_b)


def _labels_without_hash(meta: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}


def _created_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (meta.get("creationTimestamp") or "", meta.get("name") or "")


def _observed(deployment: Mapping[str, Any]) -> bool:
    generation = objects.meta(deployment).get("generation") or 0
    observed = (deployment.get("status") or {}).get("observedGeneration") or 0
    return generation <= observed


def conditions_of(obj: Mapping[str, Any]) -> tuple[Condition, ...]:
    """`status.conditions` as Condition tuples, in API order."""
    return tuple(
        Condition(
            type=c.get("type", ""),
            status=c.get("status", ""),
            reason=c.get("reason", ""),
            message=c.get("message", ""),
            last_transition=c.get("lastTransitionTime", ""),
            last_update=c.get("lastUpdateTime", ""),
        )
        for c in (obj.get("status") or {}).get("conditions") or ()
    )


def strategy_text(deployment: Mapping[str, Any]) -> str:
    """"RollingUpdate maxSurge=25% maxUnavailable=25%" or "Recreate"."""
    strategy = (deployment.get("spec") or {}).get("strategy") or {}
    kind = strategy.get("type") or "RollingUpdate"
    if kind != "RollingUpdate":
        return kind
    rolling = strategy.get("rollingUpdate") or {}
    # The API defaults both to 25%; show that when a hand-made object omits them.
    surge = int_or_str(rolling.get("maxSurge", "25%"))
    unavailable = int_or_str(rolling.get("maxUnavailable", "25%"))
    return f"RollingUpdate maxSurge={surge} maxUnavailable={unavailable}"


def rollout_status(deployment: Mapping[str, Any], replicasets: Iterable[Mapping[str, Any]]) -> RolloutStatus:
    """Mirror `kubectl rollout status deployment/<name>` (polymorphichelpers/rollout_status.go).

    `replicasets` may contain ReplicaSets of other Deployments; only owned ones are used.
    """
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    replicasets = list(replicasets)
    name = meta.get("name", "")
    spec_replicas = spec.get("replicas")
    desired = 1 if spec_replicas is None else int(spec_replicas)  # API default is 1
    updated = status.get("updatedReplicas") or 0
    current = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0

    new_rs = new_replicaset(deployment, replicasets)
    new_uid = ((new_rs or {}).get("metadata") or {}).get("uid")
    old_replicas = sum(
        (rs.get("status") or {}).get("replicas") or 0
        for rs in owned_replicasets(deployment, replicasets)
        if (objects.meta(rs).get("uid")) != new_uid
    )
    message, done, failed = _kubectl_message(name, deployment, spec_replicas, updated, current, available)
    paused = bool(spec.get("paused"))
    state = _state(done, failed, paused, desired)
    counts = _Counts(desired, updated, available, old_replicas, new_rs)
    return RolloutStatus(
        name=name,
        namespace=meta.get("namespace", ""),
        state=state,
        done=done,
        message=message,
        summary=_summary(state, counts, _observed(deployment), strategy_text(deployment)),
        progress=1.0 if done else _progress(counts),
        revision=revision_of(deployment),
        desired=desired,
        current=current,
        updated=updated,
        ready=status.get("readyReplicas") or 0,
        available=available,
        unavailable=status.get("unavailableReplicas") or 0,
        new_rs=((new_rs or {}).get("metadata") or {}).get("name"),
        new_rs_ready=counts.new_ready,
        new_rs_desired=counts.new_desired,
        old_rs_replicas=old_replicas,
        observed=_observed(deployment),
        paused=paused,
        strategy=strategy_text(deployment),
        conditions=conditions_of(deployment),
    )


def _kubectl_message(name: str, deployment: Mapping[str, Any], spec_replicas: Any, updated: int,
                     current: int, available: int) -> tuple[str, bool, bool]:
    """(message, done, failed) exactly as kubectl words them."""
    if not _observed(deployment):
        return "Waiting for deployment spec update to be observed...", False, False
    progressing = next((c for c in conditions_of(deployment) if c.type == "Progressing"), None)
    if progressing is not None and progressing.reason == TIMED_OUT_REASON:
        # kubectl returns this as an error: `error: deployment "web" exceeded its progress deadline`.
        return f'deployment "{name}" exceeded its progress deadline', False, True
    if spec_replicas is not None and updated < spec_replicas:
        return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {spec_replicas} '
                "new replicas have been updated..."), False, False
    if current > updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {current - updated} old replicas '
                "are pending termination..."), False, False
    if available < updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated '
                "replicas are available..."), False, False
    return f'deployment "{name}" successfully rolled out', True, False


def _state(done: bool, failed: bool, paused: bool, desired: int) -> RolloutState:
    if failed:
        return "failed"
    if done:
        return "scaled-to-zero" if desired == 0 else "complete"
    return "paused" if paused else "progressing"


@dataclass(frozen=True)
class _Counts:
    desired: int
    updated: int
    available: int
    old: int
    new_rs: Mapping[str, Any] | None

    @property
    def new_ready(self) -> int:
        return ((self.new_rs or {}).get("status") or {}).get("readyReplicas") or 0

    @property
    def new_available(self) -> int:
        if self.new_rs is None:
            return min(self.available, self.updated)
        return (self.new_rs.get("status") or {}).get("availableReplicas") or 0

    @property
    def new_desired(self) -> int:
        return ((self.new_rs or {}).get("spec") or {}).get("replicas") or 0


def _progress(counts: _Counts) -> float:
    """Average of the three things a rollout must do: update, make available, drain old pods.

    Each part is clamped to 0..1 so surge pods never push the bar past the end.
    """
    if counts.desired <= 0:
        return 0.0 if counts.old else 1.0
    updated = min(counts.updated, counts.desired) / counts.desired
    available = min(counts.new_available, counts.desired) / counts.desired
    drained = 1.0 - min(counts.old, counts.desired) / counts.desired
    return round((updated + available + drained) / 3, 4)


def _summary(state: RolloutState, counts: _Counts, observed: bool, strategy: str) -> str:
    new_part = f"new RS {counts.new_ready}/{counts.desired}, old RS {counts.old}"
    if state == "complete":
        return f"complete: {counts.new_ready}/{counts.desired} ready"
    if state == "scaled-to-zero":
        return "scaled to zero"
    if state == "failed":
        return f"failed: progress deadline exceeded ({new_part})"
    if state == "paused":
        return f"paused: {new_part}"
    if not observed:
        return "waiting for the controller to observe the new spec"
    verb = "recreating" if strategy == "Recreate" else "rolling"
    return f"{verb}: {new_part}"


def history(deployment: Mapping[str, Any], replicasets: Iterable[Mapping[str, Any]]) -> list[Revision]:
    """Revisions of a Deployment, newest first (`kubectl rollout history`, plus details)."""
    replicasets = list(replicasets)
    current = new_replicaset(deployment, replicasets)
    current_uid = ((current or {}).get("metadata") or {}).get("uid")
    revisions = [_revision_row(rs, current_uid) for rs in owned_replicasets(deployment, replicasets)]
    return sorted(revisions, key=lambda r: (r.revision, r.created or _EPOCH), reverse=True)


def previous_of(revisions: Iterable[Revision]) -> Revision | None:
    """What `kubectl rollout undo` goes back to: the newest revision older than the current one
    (any non-current one if none is marked current); None if there is none."""
    revisions = sorted(revisions, key=lambda r: r.revision, reverse=True)
    current = next((r.revision for r in revisions if r.is_current), None)
    return next((r for r in revisions if not r.is_current and (current is None or r.revision < current)), None)


def history_settled(deployment: Mapping[str, Any], replicasets: Iterable[Mapping[str, Any]],
                    after_generation: int) -> bool:
    """The controller has acted on a spec change made at `after_generation` and renumbered the
    revisions: a history read now no longer shows the numbers from before that change."""
    generation = objects.meta(deployment).get("generation") or 0
    if generation <= after_generation or not _observed(deployment):
        return False
    new_rs = new_replicaset(deployment, replicasets)
    return new_rs is not None and revision_of(new_rs) == revision_of(deployment)


def _revision_row(rs: Mapping[str, Any], current_uid: str | None) -> Revision:
    meta = rs.get("metadata") or {}
    template_spec = (((rs.get("spec") or {}).get("template") or {}).get("spec") or {})
    status = rs.get("status") or {}
    return Revision(
        revision=revision_of(rs),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        images=container_images(template_spec),
        change_cause=(meta.get("annotations") or {}).get(CHANGE_CAUSE_ANNOTATION),
        created=parse_time(meta.get("creationTimestamp")),
        desired=(rs.get("spec") or {}).get("replicas") or 0,
        current=status.get("replicas") or 0,
        ready=status.get("readyReplicas") or 0,
        is_current=bool(current_uid) and meta.get("uid") == current_uid,
    )


def container_images(pod_spec: Mapping[str, Any], short: bool = True) -> tuple[str, ...]:
    """Images of a pod spec's containers, in order (short form by default)."""
    images = [c.get("image", "") for c in pod_spec.get("containers") or ()]
    return tuple(short_image(i) if short else i for i in images)


ACTIVE_STATES = frozenset({"progressing", "failed"})


class RolloutIndex:
    """Rollout statuses per Deployment uid, kept up to date by identity diffs of the inputs.

    Stored objects are replaced, never mutated, on change: `update` diffs the new lists against
    the previous ones by `id()` (set operations in C), and recomputes only the statuses of
    Deployments that, or whose ReplicaSets, were added, removed or replaced. `active` holds the
    statuses in ACTIVE_STATES (what the rollout strip shows), so a caller never scans them all:
    at 10k pods the full scan per store flush was ~15 % of the UI thread under churn.
    """

    def __init__(self) -> None:
        self._deployments: dict[int, Mapping[str, Any]] = {}
        self._replicasets: dict[int, Mapping[str, Any]] = {}
        self._rs_owner: dict[int, str] = {}  # id(rs) -> controller uid
        self._by_owner: dict[str, dict[int, Mapping[str, Any]]] = {}
        self._by_uid: dict[str, Mapping[str, Any]] = {}
        self.statuses: dict[str, RolloutStatus] = {}
        self.active: dict[str, RolloutStatus] = {}

    def update(self, deployments: Iterable[Mapping[str, Any]], replicasets: Iterable[Mapping[str, Any]]) -> None:
        dirty: set[str] = set()
        new_rs = {id(rs): rs for rs in replicasets}
        old_rs = self._replicasets
        for gone in old_rs.keys() - new_rs.keys():
            owner = self._rs_owner.pop(gone, "")
            if owner:
                siblings = self._by_owner[owner]
                del siblings[gone]
                if not siblings:
                    del self._by_owner[owner]
                dirty.add(owner)
        for added in new_rs.keys() - old_rs.keys():
            ref = objects.controller_ref(new_rs[added])
            owner = (ref or {}).get("uid") or ""
            if owner:
                self._rs_owner[added] = owner
                self._by_owner.setdefault(owner, {})[added] = new_rs[added]
                dirty.add(owner)
        self._replicasets = new_rs
        new_deps = {id(d): d for d in deployments}
        old_deps = self._deployments
        for gone in old_deps.keys() - new_deps.keys():
            uid = objects.uid(old_deps[gone])
            if self._by_uid.get(uid) is old_deps[gone]:
                del self._by_uid[uid]
            dirty.add(uid)
        for added in new_deps.keys() - old_deps.keys():
            deployment = new_deps[added]
            self._by_uid[objects.uid(deployment)] = deployment
            dirty.add(objects.uid(deployment))
        self._deployments = new_deps
        for uid in dirty:
            current = self._by_uid.get(uid)
            if current is None:
                self.statuses.pop(uid, None)
                self.active.pop(uid, None)
                continue
            status = rollout_status(current, self._by_owner.get(uid, {}).values())
            self.statuses[uid] = status
            if status.state in ACTIVE_STATES:
                self.active[uid] = status
            else:
                self.active.pop(uid, None)
