"""StatefulSet rollout status (`kubectl rollout status sts`), ordinals, partitions and claims per pod."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kdash.core import objects
from kdash.core.revisions import pod_revision_hash

StatefulSetState = Literal["complete", "progressing", "staged", "on-delete", "observing", "scaled-to-zero"]
ROLLING_UPDATE = "RollingUpdate"
ON_DELETE = "OnDelete"


@dataclass(frozen=True)
class StatefulSetStatus:
    """Where a StatefulSet's rollout stands; `message` is `kubectl rollout status`'s wording."""

    name: str
    namespace: str
    strategy: str
    partition: int
    """spec.updateStrategy.rollingUpdate.partition: ordinals below it keep the current revision."""
    desired: int
    current: int
    """status.replicas: pods the controller made."""
    ready: int
    updated: int
    """status.updatedReplicas: pods at updateRevision."""
    current_replicas: int
    """status.currentReplicas: pods at currentRevision."""
    current_revision: str
    update_revision: str
    observed: bool
    done: bool
    """What `kubectl rollout status` would stop on (OnDelete: kubectl refuses, and stops)."""
    message: str
    state: StatefulSetState
    summary: str

    @property
    def to_update(self) -> int:
        """Pods the rollout moves to updateRevision: the ordinals at or above the partition."""
        return max(self.desired - self.partition, 0)


def replicas(sts: Mapping[str, Any]) -> int:
    """spec.replicas (the API defaults a missing one to 1)."""
    value = (sts.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def strategy(sts: Mapping[str, Any]) -> str:
    return ((sts.get("spec") or {}).get("updateStrategy") or {}).get("type") or ROLLING_UPDATE


def partition(sts: Mapping[str, Any]) -> int:
    """The rolling update's partition (0 when unset or OnDelete)."""
    rolling = ((sts.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    value = rolling.get("partition")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def statefulset_status(sts: Mapping[str, Any]) -> StatefulSetStatus:
    """A port of kubectl's StatefulSetStatusViewer.Status, plus the counts it reads."""
    meta = objects.meta(sts)
    status = sts.get("status") or {}
    name = meta.get("name", "")
    kind_strategy = strategy(sts)
    desired = replicas(sts)
    ready = status.get("readyReplicas") or 0
    updated = status.get("updatedReplicas") or 0
    cut = partition(sts) if kind_strategy == ROLLING_UPDATE else 0
    current_rev = status.get("currentRevision") or ""
    update_rev = status.get("updateRevision") or ""
    observed_generation = status.get("observedGeneration") or 0
    observed = observed_generation != 0 and (meta.get("generation") or 0) <= observed_generation
    if kind_strategy != ROLLING_UPDATE:
        done, message = True, f"rollout status is only available for {ROLLING_UPDATE} strategy type"
    elif not observed:
        done, message = False, "Waiting for statefulset spec update to be observed..."
    elif ready < desired:
        done, message = False, f"Waiting for {desired - ready} pods to be ready..."
    elif updated < desired - cut:
        # The API server always defaults rollingUpdate.partition, so kubectl takes this branch.
        done, message = False, (f"Waiting for partitioned roll out to finish: {updated} out of "
                                f"{desired - cut} new pods have been updated...")
    else:
        done, message = True, f"partitioned roll out complete: {updated} new pods have been updated..."
    state = _state(kind_strategy, observed, done, desired, current_rev, update_rev, status)
    return StatefulSetStatus(
        name=name, namespace=meta.get("namespace") or "", strategy=kind_strategy, partition=cut, desired=desired,
        current=status.get("replicas") or 0, ready=ready, updated=updated,
        current_replicas=status.get("currentReplicas") or 0, current_revision=current_rev,
        update_revision=update_rev, observed=observed, done=done, message=message, state=state,
        summary=_summary(state, desired, ready, updated, cut))


def _state(kind_strategy: str, observed: bool, done: bool, desired: int, current_rev: str, update_rev: str,
           status: Mapping[str, Any]) -> StatefulSetState:
    if not observed:
        return "observing"
    pending_update = bool(update_rev) and current_rev != update_rev
    if kind_strategy != ROLLING_UPDATE:
        # kubectl says "done" for OnDelete; pods still on the old revision wait for a delete.
        if pending_update and (status.get("updatedReplicas") or 0) < desired:
            return "on-delete"
        return "complete" if desired else "scaled-to-zero"
    if not done:
        return "progressing"
    if pending_update:
        return "staged"  # done up to the partition: lower ordinals keep the old revision
    return "complete" if desired else "scaled-to-zero"


def _summary(state: StatefulSetState, desired: int, ready: int, updated: int, cut: int) -> str:
    if state == "observing":
        return "waiting for the controller"
    if state == "on-delete":
        return f"OnDelete: {updated}/{desired} updated, delete pods to update the rest"
    if state == "staged":
        return f"staged at partition {cut}: {updated}/{desired} updated"
    if state == "progressing":
        return f"rolling: {ready}/{desired} ready, {updated}/{desired - cut} updated"
    return "complete" if desired else "scaled to zero"


def ordinal(sts: Mapping[str, Any], pod: Mapping[str, Any]) -> int | None:
    """The pod's ordinal ("web-2" of StatefulSet "web" → 2), None if the name is no "<set>-<n>"."""
    prefix = objects.name(sts) + "-"
    name = objects.name(pod)
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    return int(rest) if rest.isdigit() and (rest == "0" or not rest.startswith("0")) else None


def owned_pods(sts: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    """(ordinal, pod) of the pods the StatefulSet controls, in ordinal order (pods whose names
    carry no ordinal come last, as ordinal -1)."""
    uid = objects.uid(sts)
    owned = []
    for pod in pods:
        if objects.is_controlled_by(pod, uid):
            number = ordinal(sts, pod)
            owned.append((number if number is not None else -1, pod))
    return sorted(owned, key=lambda item: (item[0] < 0, item[0], objects.name(item[1])))


def claim_names(sts: Mapping[str, Any], number: int) -> tuple[str, ...]:
    """The claims the controller makes for ordinal `number`: "<template>-<set>-<ordinal>"."""
    templates = (sts.get("spec") or {}).get("volumeClaimTemplates") or ()
    return tuple(f"{objects.name(t)}-{objects.name(sts)}-{number}" for t in templates)


PodRevision = Literal["update", "current", "old", "unknown"]


def pod_revision(status: StatefulSetStatus, pod: Mapping[str, Any]) -> PodRevision:
    """Which of the set's revisions a pod runs: "update" (updateRevision), "current"
    (currentRevision, the one being replaced), "old" (neither) or "unknown" (no hash label)."""
    pod_hash = pod_revision_hash(pod)
    if not pod_hash:
        return "unknown"
    # 1.20 labels pods with the revision's name; the hash alone is accepted too.
    if pod_hash in (status.update_revision, status.update_revision.rpartition("-")[2]):
        return "update"
    if pod_hash in (status.current_revision, status.current_revision.rpartition("-")[2]):
        return "current"
    return "old"


def held_by_partition(status: StatefulSetStatus, number: int) -> bool:
    """The ordinal is below the partition: a rolling update leaves it on its revision."""
    return status.strategy == ROLLING_UPDATE and 0 <= number < status.partition


def check_partition(value: int, sts: Mapping[str, Any]) -> int:
    """`value` if it is a valid partition for the set (0..replicas), else ValueError saying why."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not a whole number")
    if value < 0:
        raise ValueError(f"{value} is negative; the partition is an ordinal, 0 or more")
    if value > replicas(sts):
        raise ValueError(f"{value} is more than the {replicas(sts)} replicas (a partition of {replicas(sts)} "
                         "already holds every pod)")
    if strategy(sts) != ROLLING_UPDATE:
        raise ValueError(f"the update strategy is {strategy(sts)}: a partition needs {ROLLING_UPDATE}")
    return value


def next_partition(sts: Mapping[str, Any]) -> int:
    """A staged rollout's next step: one ordinal lower than now (0 at the end)."""
    return max(partition(sts) - 1, 0)
