"""Pod status as kubectl computes it: the STATUS reason, readiness and a health class."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from kdash.core.objects import is_terminating
from kdash.core.values import parse_time

Health = Literal["ok", "progressing", "warning", "error", "terminating", "none"]

# Waiting/terminated reasons that mean "this will not fix itself" (kubelet's own strings).
ERROR_REASONS = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "PreStartHookError",
    "PostStartHookError", "ContainerCannotRun", "Error", "OOMKilled", "DeadlineExceeded", "Failed",
    "Evicted", "NodeLost", "UnexpectedAdmissionError", "OutOfcpu", "OutOfmemory", "NodeAffinity",
})
PROGRESS_REASONS = frozenset({"Pending", "ContainerCreating", "PodInitializing", "SchedulingGated"})
NODE_UNREACHABLE_REASON = "NodeLost"  # k8s.io/kubernetes/pkg/util/node.NodeUnreachablePodReason


def pod_status(pod: Mapping[str, Any]) -> str:
    """Only kubectl's STATUS string for a pod."""
    return status_info(pod).reason


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    """The Ready condition is True."""
    return _condition_true(pod, "Ready")


def pod_health(pod: Mapping[str, Any], reason: str | None = None) -> Health:
    """Colour class for a pod, derived from its STATUS string and Ready condition."""
    reason = reason if reason is not None else pod_status(pod)
    if is_terminating(pod):
        return "terminating"
    phase = (pod.get("status") or {}).get("phase")
    if reason == "Completed" or phase == "Succeeded":
        return "ok"
    base = reason.removeprefix("Init:")
    if phase == "Failed" or base in ERROR_REASONS or base.startswith(("ExitCode:", "Signal:")):
        return "error"
    if reason == "Running":
        return "ok" if is_pod_ready(pod) else "warning"
    if reason in PROGRESS_REASONS or (reason.startswith("Init:") and base[:1].isdigit()):
        return "progressing"
    # NotReady, Unknown and reasons we do not know.
    return "warning"


@dataclass(frozen=True)
class StatusInfo:
    reason: str
    ready_containers: int
    total_containers: int
    restarts: int
    last_restart: datetime | None


def status_info(pod: Mapping[str, Any]) -> StatusInfo:
    """A port of kubectl's printPod (pkg/printers/internalversion/printers.go)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for condition in status.get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or ()}
    sidecars = {name for name, c in init_specs.items() if is_sidecar(c)}
    counts = _Counts(total=len(spec.get("containers") or ()) + len(sidecars))

    init_reason = _init_reason(status.get("initContainerStatuses") or (), len(init_specs), sidecars, counts)
    initializing = init_reason is not None
    if initializing:
        reason = init_reason
    if not initializing or _condition_true(pod, "Initialized"):
        # Only sidecar restarts count once the pod is initialised; plain init containers are done.
        counts.restarts, counts.last_restart = counts.sidecar_restarts, counts.sidecar_last_restart
        reason = _containers_reason(pod, status.get("containerStatuses") or (), reason, counts)

    if meta.get("deletionTimestamp") and status.get("reason") == NODE_UNREACHABLE_REASON:
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return StatusInfo(reason or "Unknown", counts.ready, counts.total, counts.restarts, counts.last_restart)


@dataclass
class _Counts:
    total: int
    ready: int = 0
    restarts: int = 0
    last_restart: datetime | None = None
    sidecar_restarts: int = 0
    sidecar_last_restart: datetime | None = None


def _init_reason(statuses: Any, init_count: int, sidecars: set[str], counts: _Counts) -> str | None:
    """STATUS while init containers run ("Init:0/2", "Init:CrashLoopBackOff"), else None."""
    for index, container in enumerate(statuses):
        counts.restarts += container.get("restartCount") or 0
        finished = _last_termination(container)
        counts.last_restart = _later(counts.last_restart, finished)
        is_sidecar = container.get("name") in sidecars
        if is_sidecar:
            counts.sidecar_restarts += container.get("restartCount") or 0
            counts.sidecar_last_restart = _later(counts.sidecar_last_restart, finished)
        state = container.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if terminated is not None and (terminated.get("exitCode") or 0) == 0:
            continue
        if is_sidecar and container.get("started"):
            counts.ready += 1 if container.get("ready") else 0
            continue
        if terminated is not None:
            if terminated.get("reason"):
                return "Init:" + terminated["reason"]
            if terminated.get("signal"):
                return f"Init:Signal:{terminated['signal']}"
            return f"Init:ExitCode:{terminated.get('exitCode') or 0}"
        if waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            return "Init:" + waiting["reason"]
        return f"Init:{index}/{init_count}"
    return None


def _containers_reason(pod: Mapping[str, Any], statuses: Any, reason: str, counts: _Counts) -> str:
    """The app containers' contribution: last waiting/terminated reason wins, as in kubectl."""
    has_running = False
    # kubectl walks the statuses backwards, so the first container's reason ends up shown.
    for container in reversed(list(statuses)):
        counts.restarts += container.get("restartCount") or 0
        counts.last_restart = _later(counts.last_restart, _last_termination(container))
        state = container.get("state") or {}
        waiting = state.get("waiting")
        terminated = state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated is not None:
            reason = (f"Signal:{terminated['signal']}" if terminated.get("signal")
                      else f"ExitCode:{terminated.get('exitCode') or 0}")
        elif container.get("ready") and state.get("running") is not None:
            has_running = True
            counts.ready += 1
    if reason == "Completed" and has_running:
        reason = "Running" if is_pod_ready(pod) else "NotReady"
    return reason


def _last_termination(container: Mapping[str, Any]) -> datetime | None:
    terminated = (container.get("lastState") or {}).get("terminated") or {}
    return parse_time(terminated.get("finishedAt"))


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _condition_true(pod: Mapping[str, Any], kind: str) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


# status.resize (1.27-1.32) → the words of the conditions that replaced it in 1.33.
_LEGACY_RESIZE = {"Deferred": "Pending: Deferred", "Infeasible": "Pending: Infeasible"}


def resize_status(pod: Mapping[str, Any]) -> str | None:
    """An in-place resize in flight: "InProgress", "Pending: Infeasible (why)", …; None when there is none.

    1.33+ servers say it with the conditions PodResizePending (reason Deferred or Infeasible) and
    PodResizeInProgress; 1.27-1.32 servers with `status.resize`.
    """
    status = pod.get("status") or {}
    for condition in status.get("conditions") or ():
        kind = condition.get("type")
        if kind in ("PodResizePending", "PodResizeInProgress") and condition.get("status") == "True":
            text = "Pending" if kind == "PodResizePending" else "InProgress"
            if condition.get("reason"):
                text += f": {condition['reason']}"
            return f"{text} ({condition['message']})" if condition.get("message") else text
    legacy = status.get("resize")
    return _LEGACY_RESIZE.get(legacy, legacy) if isinstance(legacy, str) and legacy else None


def is_sidecar(container: Mapping[str, Any]) -> bool:
    """A native sidecar (1.29+): an init container with restartPolicy Always, which keeps running."""
    return container.get("restartPolicy") == "Always"
