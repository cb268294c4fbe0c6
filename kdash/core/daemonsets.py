"""DaemonSet rollout status (`kubectl rollout status ds`) and which nodes should run its pod."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kdash.core import objects
from kdash.core.labels import Requirement, Selector, selector_from_map
from kdash.core.values import int_or_str

DaemonSetState = Literal["complete", "progressing", "on-delete", "observing", "no-nodes"]
ROLLING_UPDATE = "RollingUpdate"

# What the DaemonSet controller adds to every daemon pod (util.AddOrUpdateDaemonPodTolerations):
# a daemon keeps running on a node that is not ready, unreachable, under pressure or cordoned.
DAEMON_TOLERATIONS: tuple[Mapping[str, str], ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                           "effect": "NoSchedule"}


@dataclass(frozen=True)
class DaemonSetStatus:
    """Where a DaemonSet's rollout stands; `message` is `kubectl rollout status`'s wording."""

    name: str
    namespace: str
    strategy: str
    max_unavailable: str
    max_surge: str
    desired: int
    current: int
    ready: int
    updated: int
    available: int
    unavailable: int
    misscheduled: int
    observed: bool
    done: bool
    message: str
    state: DaemonSetState
    summary: str


def strategy(ds: Mapping[str, Any]) -> str:
    return ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") or ROLLING_UPDATE


def daemonset_status(ds: Mapping[str, Any]) -> DaemonSetStatus:
    """A port of kubectl's DaemonSetStatusViewer.Status, plus the counts `kubectl get ds` shows."""
    meta = objects.meta(ds)
    status = ds.get("status") or {}
    name = meta.get("name", "")
    kind_strategy = strategy(ds)
    rolling = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    desired = status.get("desiredNumberScheduled") or 0
    updated = status.get("updatedNumberScheduled") or 0
    available = status.get("numberAvailable") or 0
    observed = (meta.get("generation") or 0) <= (status.get("observedGeneration") or 0)
    if kind_strategy != ROLLING_UPDATE:
        done, message = True, f"rollout status is only available for {ROLLING_UPDATE} strategy type"
    elif not observed:
        done, message = False, "Waiting for daemon set spec update to be observed..."
    elif updated < desired:
        done, message = False, (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of '
                                f"{desired} new pods have been updated...")
    elif available < desired:
        done, message = False, (f'Waiting for daemon set "{name}" rollout to finish: {available} of '
                                f"{desired} updated pods are available...")
    else:
        done, message = True, f'daemon set "{name}" successfully rolled out'
    if not observed:
        state: DaemonSetState = "observing"
    elif kind_strategy != ROLLING_UPDATE:
        state = "on-delete" if updated < desired else "complete"
    elif not done:
        state = "progressing"
    else:
        state = "complete" if desired else "no-nodes"
    return DaemonSetStatus(
        name=name, namespace=meta.get("namespace") or "", strategy=kind_strategy,
        max_unavailable=int_or_str(rolling.get("maxUnavailable")) if rolling.get("maxUnavailable") is not None else "",
        max_surge=int_or_str(rolling.get("maxSurge")) if rolling.get("maxSurge") is not None else "",
        desired=desired, current=status.get("currentNumberScheduled") or 0, ready=status.get("numberReady") or 0,
        updated=updated, available=available, unavailable=status.get("numberUnavailable") or 0,
        misscheduled=status.get("numberMisscheduled") or 0, observed=observed, done=done, message=message,
        state=state, summary=_summary(state, desired, updated, available))


def _summary(state: DaemonSetState, desired: int, updated: int, available: int) -> str:
    if state == "observing":
        return "waiting for the controller"
    if state == "on-delete":
        return f"OnDelete: {updated}/{desired} updated, delete pods to update the rest"
    if state == "progressing":
        return f"rolling: {updated}/{desired} updated, {available}/{desired} available"
    if state == "no-nodes":
        return "no node matches"
    return "complete"


# -- which nodes should run the daemon (the controller's nodeShouldRunDaemonPod predicates) --------


def should_run(ds: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[bool, str]:
    """(the node should run the daemon pod, why not): the node name, nodeSelector, required node
    affinity and NoSchedule/NoExecute taints against the pod's tolerations plus the daemon's."""
    pod_spec = (((ds.get("spec") or {}).get("template") or {}).get("spec")) or {}
    node_name = objects.name(node)
    if pod_spec.get("nodeName") and pod_spec["nodeName"] != node_name:
        return False, "nodeName"
    node_labels = objects.labels(node)
    if not selector_from_map(pod_spec.get("nodeSelector")).matches(node_labels):
        return False, "nodeSelector"
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is not None and not _terms_match(required.get("nodeSelectorTerms") or (), node):
        return False, "node affinity"
    tolerations = list(pod_spec.get("tolerations") or ()) + list(DAEMON_TOLERATIONS)
    if pod_spec.get("hostNetwork"):
        tolerations.append(HOST_NETWORK_TOLERATION)
    for taint in (node.get("spec") or {}).get("taints") or ():
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(_tolerates(t, taint) for t in tolerations):
            return False, f"taint {taint.get('key')}={taint.get('value') or ''}:{taint.get('effect')}"
    return True, ""


def _terms_match(terms: Iterable[Mapping[str, Any]], node: Mapping[str, Any]) -> bool:
    """NodeSelectorTerms are ORed, the expressions of one term ANDed; no term matches nothing."""
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!", "Gt": ">", "Lt": "<"}
    for term in terms:
        by_target: dict[str, list[Requirement]] = {"matchExpressions": [], "matchFields": []}
        known = True
        for target, requirements in by_target.items():
            for expression in term.get(target) or ():
                operator = operators.get(expression.get("operator", ""))
                known = known and operator is not None
                requirements.append(Requirement(expression.get("key", ""), operator or "",
                                                tuple(expression.get("values") or ())))
        if not known or not (by_target["matchExpressions"] or by_target["matchFields"]):
            continue  # an empty term matches no objects; an unknown operator matches nothing
        if Selector(tuple(by_target["matchExpressions"])).matches(objects.labels(node)) and \
                Selector(tuple(by_target["matchFields"])).matches({"metadata.name": objects.name(node)}):
            return True
    return False


def _tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """core/v1 Toleration.ToleratesTaint."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def is_node_ready(node: Mapping[str, Any]) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False
