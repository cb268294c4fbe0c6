"""Healthy or failed for a watched rollout: criteria, per-context settings, and the judgement with its evidence."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from kdash.core import objects
from kdash.core.pods import is_pod_ready, status_info
from kdash.core.rollout import TIMED_OUT_REASON, conditions_of, new_replicaset, owned_replicasets

VerdictState = Literal["pending", "healthy", "failed"]
Criterion = Literal["deadline", "restarts", "log", "ready"]
# Criteria keys a settings file may set, besides auto_undo.
DEFAULT_CONTEXT = "*"


@dataclass(frozen=True)
class Criteria:
    """What a watched rollout must do to be called healthy (each one can fail it)."""

    ready_within: float = 120.0
    """Seconds from the start of the watch for every new pod to be Ready (and the old ones gone)."""
    max_restarts: int = 1
    """Container restarts allowed per new pod."""
    log_pattern: str = r"\b(ERROR|FATAL|panic:)"
    """A regular expression; a new pod's log line matching it fails the rollout ("" = off)."""
    stable_for: float = 5.0
    """Seconds everything must hold (new pods ready, old ones gone, logs followed) before "healthy":
    a pod that crashes just after its first Ready is not called healthy."""
    progress_deadline: bool = True
    """ProgressDeadlineExceeded on the Deployment fails the rollout."""
    auto_undo: bool = False
    """Undo by itself on failure (never under read-only: the write gate refuses)."""

    def matches(self, line: str) -> bool:
        return bool(self.log_pattern) and _compiled(self.log_pattern).search(line) is not None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern not in _PATTERNS:
        _PATTERNS[pattern] = re.compile(pattern)
    return _PATTERNS[pattern]


def criteria_for(settings: Mapping[str, Any], context: str) -> tuple[Criteria, list[str]]:
    """The criteria for `context`: defaults, then the settings' "*" entry, then the context's own.

    Returns the criteria and what was ignored (a bad value keeps the value before it).
    """
    criteria, warnings = Criteria(), []
    for key in (DEFAULT_CONTEXT, context):
        entry = settings.get(key)
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            warnings.append(f"rollout_watch.{key}: ignored, expected a mapping")
            continue
        criteria = _apply(criteria, entry, f"rollout_watch.{key}", warnings)
    return criteria, warnings


def _apply(criteria: Criteria, entry: Mapping[str, Any], where: str, warnings: list[str]) -> Criteria:
    known = {f.name: type(getattr(criteria, f.name)) for f in fields(Criteria)}
    changes: dict[str, Any] = {}
    for name, value in entry.items():
        expected = known.get(str(name))
        if expected is None:
            warnings.append(f"{where}: unknown setting {name!r} ignored")
        elif _valid(expected, value):
            changes[name] = float(value) if expected is float else value
        else:
            warnings.append(f"{where}: ignored {name!r}: {value!r} is not a valid {expected.__name__}"
                            + (" (regular expression)" if expected is str else ""))
    return replace(criteria, **changes)


def _valid(expected: type, value: Any) -> bool:
    """A positive number of seconds, a count ≥ 0, a bool, or a regular expression that compiles."""
    if isinstance(value, bool) or expected is bool:
        return expected is bool and isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and value > 0
    if expected is int:
        return isinstance(value, int) and value >= 0
    return isinstance(value, str) and _valid_pattern(value)


def _valid_pattern(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


@dataclass(frozen=True)
class LogHit:
    """A new pod's log line that matched the pattern."""

    pod: str
    container: str
    text: str


@dataclass(frozen=True)
class Snapshot:
    """What the watch sees at one moment: the Deployment, its ReplicaSets, the new RS's pods,
    the events about any of them, the matching log lines, and the seconds since the watch began."""

    deployment: Mapping[str, Any]
    replicasets: Sequence[Mapping[str, Any]]
    pods: Sequence[Mapping[str, Any]]
    events: Sequence[Mapping[str, Any]] = ()
    log_hits: Sequence[LogHit] = ()
    elapsed: float = 0.0
    generation: int = 0
    """The Deployment's generation right after the write: the controller must have observed it."""
    unfollowed: Sequence[str] = ()
    """New pods with a started container whose log is not followed yet (its lines could not count)."""


@dataclass(frozen=True)
class Verdict:
    state: VerdictState
    criterion: Criterion | None = None
    evidence: tuple[str, ...] = ()
    """Why: for healthy every condition that holds; for failed the pod, event or log line."""
    waiting: tuple[str, ...] = field(default=(), compare=False)
    """While pending: what is not there yet."""
    holding_since: float | None = field(default=None, compare=False)
    """While pending: since when (watch seconds) everything for "healthy" holds."""

    @property
    def done(self) -> bool:
        return self.state != "pending"

    @property
    def headline(self) -> str:
        if self.state == "failed":
            return f"failed: {self.criterion}: {self.evidence[0] if self.evidence else ''}".rstrip(": ")
        if self.state == "healthy":
            return "healthy: " + "; ".join(self.evidence[:2])
        return "pending: " + ("; ".join(self.waiting[:2]) or "waiting for the controller")


PENDING = Verdict("pending")


def judge(criteria: Criteria, snap: Snapshot, previous: Verdict = PENDING) -> Verdict:
    """The verdict for `snap`; once healthy or failed it stays so (the watch ended there)."""
    if previous.done:
        return previous
    failure = _failure(criteria, snap)
    if failure is not None:
        return failure
    missing, evidence = _health(snap)
    missing.extend(f"log of pod {pod} not followed yet" for pod in snap.unfollowed)
    if not missing:
        since = previous.holding_since if previous.holding_since is not None else snap.elapsed
        held = snap.elapsed - since
        if held >= criteria.stable_for:
            return Verdict("healthy", evidence=(*evidence, f"held for {held:.0f}s"))
        return Verdict("pending", waiting=(f"all good for {held:.0f}s of {criteria.stable_for:g}s",),
                       holding_since=since)
    if snap.elapsed >= criteria.ready_within:
        missing.sort(key=lambda line: not line.startswith("pod "))  # the pods first: they say why
        return Verdict("failed", "ready", (f"not healthy after {criteria.ready_within:g}s: {missing[0]}",
                                           *missing[1:], *_warnings(snap)))
    return Verdict("pending", waiting=tuple(missing))


def new_pods(deployment: Mapping[str, Any], replicasets: Sequence[Mapping[str, Any]],
             pods: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The pods of the Deployment's new ReplicaSet (pods of other ReplicaSets are dropped)."""
    new_rs = new_replicaset(deployment, replicasets)
    if new_rs is None:
        return []
    return [p for p in pods if objects.is_controlled_by(p, objects.uid(new_rs))]


def _failure(criteria: Criteria, snap: Snapshot) -> Verdict | None:
    if criteria.progress_deadline:
        for cond in conditions_of(snap.deployment):
            if cond.type == "Progressing" and cond.reason == TIMED_OUT_REASON:
                return Verdict("failed", "deadline", (f"Deployment condition Progressing={cond.status} "
                                                      f"{cond.reason}: {cond.message}",))
    pods = new_pods(snap.deployment, snap.replicasets, snap.pods)
    for pod in pods:
        info = status_info(pod)
        if info.restarts > criteria.max_restarts:
            return Verdict("failed", "restarts", (f"pod {objects.name(pod)}: {info.restarts} restarts "
                                                  f"(> {criteria.max_restarts}), status {info.reason}"
                                                  f"{_last_exit(pod)}", *_warnings(snap, pod)))
    if criteria.log_pattern:
        names = {objects.name(p) for p in pods}
        for hit in snap.log_hits:
            if hit.pod in names and criteria.matches(hit.text):
                return Verdict("failed", "log", (f"pod {hit.pod}/{hit.container} logged: {hit.text}",))
    return None


def _last_exit(pod: Mapping[str, Any]) -> str:
    for cs in (pod.get("status") or {}).get("containerStatuses") or ():
        last = (cs.get("lastState") or {}).get("terminated")
        if last:
            return f"; last exit {last.get('exitCode')} {last.get('reason') or ''}".rstrip()
    return ""


def _health(snap: Snapshot) -> tuple[list[str], list[str]]:
    """(what is still missing, the evidence that holds) for "healthy"."""
    deployment = snap.deployment
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    desired = 1 if spec.get("replicas") is None else int(spec["replicas"])
    generation = objects.meta(deployment).get("generation") or 0
    observed = status.get("observedGeneration") or 0
    missing: list[str] = []
    if observed < max(generation, snap.generation):
        missing.append(f"controller has not observed generation {max(generation, snap.generation)} "
                       f"(observed {observed})")
    if spec.get("paused"):
        missing.append("rollout is paused")
    counts = {k: status.get(k) or 0 for k in ("updatedReplicas", "replicas", "availableReplicas")}
    if not counts["updatedReplicas"] == counts["replicas"] == counts["availableReplicas"] == desired:
        missing.append(f"updated {counts['updatedReplicas']}, total {counts['replicas']}, "
                       f"available {counts['availableReplicas']}, desired {desired}")
    new_rs = new_replicaset(deployment, snap.replicasets)
    pods = new_pods(deployment, snap.replicasets, snap.pods)
    unready = [p for p in pods if not is_pod_ready(p)]
    if new_rs is None and desired:
        missing.append("no new ReplicaSet yet")
    elif len(pods) < desired:
        missing.append(f"{len(pods)} of {desired} new pods exist")
    missing.extend(f"pod {objects.name(p)} not ready ({status_info(p).reason})" for p in unready)
    old = [rs for rs in owned_replicasets(deployment, snap.replicasets)
           if new_rs is None or objects.uid(rs) != objects.uid(new_rs)]
    old_left = sum((rs.get("status") or {}).get("replicas") or 0 for rs in old)
    if old_left:
        missing.append(f"{old_left} old pods still running")
    evidence = [f"{len(pods)}/{desired} new pods ready",
                f"observedGeneration {observed} current",
                f"updated = total = available = {desired}",
                f"old ReplicaSets scaled down ({len(old)})"]
    if new_rs is not None:
        evidence.append(f"new ReplicaSet {objects.name(new_rs)}: "
                        + (", ".join(sorted(objects.name(p) for p in pods)) or "no pods"))
    return missing, evidence


def _warnings(snap: Snapshot, pod: Mapping[str, Any] | None = None) -> list[str]:
    """Warning events (about `pod`, or any watched object), newest first, as evidence lines."""
    uid = objects.uid(pod) if pod is not None else None
    warnings = [e for e in snap.events if e.get("type") == "Warning"
                and (uid is None or (e.get("involvedObject") or {}).get("uid") == uid)]
    warnings.sort(key=event_time, reverse=True)
    lines = [f"event {e.get('reason', '')} on {(e.get('involvedObject') or {}).get('name', '')}: "
             f"{e.get('message', '')}" for e in warnings]
    return list(dict.fromkeys(lines))[:3]  # a repeated warning once


def event_time(event: Mapping[str, Any]) -> str:
    """When an event last happened (core/v1 or events.k8s.io fields), for sorting."""
    return (event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
            or objects.meta(event).get("creationTimestamp") or "")


def sorted_events(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Warnings first, then the rest; newest first within each."""
    newest = sorted(events, key=event_time, reverse=True)
    return [e for e in newest if e.get("type") == "Warning"] + [e for e in newest if e.get("type") != "Warning"]
