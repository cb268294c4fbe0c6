"""One watched rollout: the new ReplicaSet's pods' logs and the events around it, judged by core.verdict."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from kdash.core import objects
from kdash.core.pods import status_info
from kdash.core.rollout import TIMED_OUT_REASON, conditions_of, new_replicaset, revision_of
from kdash.core.values import parse_time
from kdash.core.verdict import PENDING, Criteria, LogHit, Snapshot, Verdict, event_time, judge, sorted_events
from kdash.kube.events import NamespaceEvents
from kdash.logs.buffer import LineQueue, LogLine
from kdash.logs.follower import (
    Follower,
    LogSource,
    PodIndex,
    StreamFactory,
    container_instance,
    container_names,
)
from kdash.logs.stream import LogOptions

LOG_CAPACITY = 5000
# Events up to this long before the watch opened still belong to its change: the controller acts on
# the write at once, the watch opens only after the write's answer came back.
EVENT_SLACK = 3.0
# Lines read back per container when a pod is enrolled: a pod that failed at start shows why.
ENROLL_TAIL = 200


class EventSource(Protocol):
    """Events of the namespace (kube.events.NamespaceEvents, or a fake in tests)."""

    def events(self) -> list[Any]: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Change:
    """The write a watch follows: what it did, and the Deployment's generation just before it."""

    namespace: str
    name: str
    uid: str
    verb: str
    """"set image", "restart", "undo", …"""
    detail: str
    generation_before: int
    revision_before: int = 0


@dataclass
class Phase:
    """One judged rollout of the transaction: the change, then possibly an undo."""

    change: Change
    started: float
    verdict: Verdict = PENDING
    verdict_at: float | None = None
    signal_at: float | None = None
    """When the first failing signal was there (the crash, the log line, the deadline)."""
    new_rs: str = ""


@dataclass
class RolloutWatch:
    """Keeps a Follower on the new ReplicaSet and judges each `tick` (UI thread) until a verdict.

    The new ReplicaSet is known once the controller has observed the change: its pods are enrolled
    as they start, and only they (an old pod's log or restart never counts). After the verdict the
    logs keep flowing; the verdict no longer changes until `rearm` starts the next phase (an undo).
    """

    change: Change
    criteria: Criteria
    store: PodIndex
    stream_factory: StreamFactory | None
    events: EventSource | None = None
    clock: Callable[[], float] = time.time
    queue: LineQueue = field(default_factory=lambda: LineQueue(LOG_CAPACITY))
    phases: list[Phase] = field(default_factory=list)
    follower: Follower | None = None
    hits: list[tuple[LogHit, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.phases.append(Phase(self.change, self.clock()))

    @property
    def phase(self) -> Phase:
        return self.phases[-1]

    @property
    def verdict(self) -> Verdict:
        return self.phase.verdict

    @property
    def elapsed(self) -> float:
        return self.clock() - self.phase.started

    def deployment(self) -> Any:
        return self.store.by_uid(self.change.uid)

    def tick(self) -> Verdict:
        phase = self.phase
        deployment = self.deployment()
        if deployment is None:
            return phase.verdict
        if phase.verdict.done:
            # The verdict names this phase's ReplicaSet: keep following it, whatever happens next.
            if self.follower is not None:
                self.follower.sync(self.store)
            return phase.verdict
        replicasets = self.store.owned_by("ReplicaSet", self.change.uid)
        new_rs = self._new_rs(deployment, replicasets)
        pods: list[Any] = []
        if new_rs is not None:
            self._follow(objects.name(new_rs))
            pods = self.store.owned_by("Pod", objects.uid(new_rs))
        if self.follower is not None:
            self.follower.sync(self.store)
        with self._lock:
            hits = tuple(hit for hit, _ in self.hits)
        snap = Snapshot(deployment, replicasets, pods, self.related_events(deployment, new_rs, pods), hits,
                        self.elapsed, phase.change.generation_before + 1, self._unfollowed(pods))
        verdict = judge(self.criteria, snap, phase.verdict)
        if verdict.done:
            phase.verdict, phase.verdict_at = verdict, self.clock()
            phase.signal_at = self._signal_time(verdict, snap, phase)
        else:
            phase.verdict = verdict
        return verdict

    def _unfollowed(self, pods: list[Any]) -> list[str]:
        """New pods with a started container and no log stream (none when logs cannot be read at all)."""
        if self.follower is None:
            return []
        followed = {target.pod for target in self.follower.targets}
        return [objects.name(p) for p in pods if objects.name(p) not in followed and not objects.is_terminating(p)
                and any(container_instance(p, c) for c in container_names(p, include_init=False))]

    def _new_rs(self, deployment: Any, replicasets: list[Any]) -> Any:
        """The new ReplicaSet, once the controller has observed the change (before, it is the old one)."""
        status = deployment.get("status") or {}
        if (status.get("observedGeneration") or 0) <= self.phase.change.generation_before:
            return None
        return new_replicaset(deployment, replicasets)

    def _follow(self, rs_name: str) -> None:
        if self.phase.new_rs == rs_name:
            return
        self.phase.new_rs = rs_name
        if self.stream_factory is None:
            return  # not connected: no logs to follow
        if self.follower is not None:
            self.follower.stop()
        options = LogOptions(follow=True, tail_lines=ENROLL_TAIL)
        self.follower = Follower(LogSource("ReplicaSet", self.change.namespace, rs_name), self.stream_factory,
                                 self._sink, options)

    def _sink(self, lines: Sequence[LogLine]) -> None:
        """Stream threads: every line to the view's queue, matching ones also to the hits."""
        if self.criteria.log_pattern:
            found = [(LogHit(line.pod, line.container, line.text), line.timestamp) for line in lines
                     if not line.marker and self.criteria.matches(line.text)]
            if found:
                with self._lock:
                    self.hits.extend(found)
        self.queue.put(lines)

    def related_events(self, deployment: Any, new_rs: Any, pods: Sequence[Any]) -> list[Any]:
        """Events about the Deployment, its new ReplicaSet and new pods since the change, warnings first."""
        if self.events is None:
            return []
        uids = {objects.uid(deployment), *(objects.uid(p) for p in pods)}
        if new_rs is not None:
            uids.add(objects.uid(new_rs))
        start = int(self.phases[0].started - EVENT_SLACK)
        since = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return sorted_events([e for e in self.events.events()
                              if (e.get("involvedObject") or {}).get("uid") in uids and event_time(e) >= since])

    def _signal_time(self, verdict: Verdict, snap: Snapshot, phase: Phase) -> float | None:
        """When the evidence behind a failed verdict first existed (for the time-to-verdict figure)."""
        if verdict.state != "failed":
            return None
        if verdict.criterion == "ready":
            return phase.started + self.criteria.ready_within
        if verdict.criterion == "deadline":
            cond = next((c for c in conditions_of(snap.deployment) if c.reason == TIMED_OUT_REASON), None)
            return _epoch(cond.last_update or cond.last_transition) if cond else None
        if verdict.criterion == "log":
            with self._lock:
                stamps = [stamp for hit, stamp in self.hits if hit in snap.log_hits and stamp]
            return _epoch(stamps[0]) if stamps else None
        ends = [_epoch(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
                for p in snap.pods if status_info(p).restarts > self.criteria.max_restarts
                for cs in (p.get("status") or {}).get("containerStatuses") or ()]
        known = [t for t in ends if t is not None]
        return max(known) if known else None

    def rearm(self, change: Change) -> None:
        """Judge the next rollout (an undo) in the same transaction."""
        with self._lock:
            self.hits.clear()
        self.phases.append(Phase(change, self.clock()))

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        if self.events is not None:
            self.events.stop()

    def record(self, context: str, end: str) -> dict[str, Any]:
        """The transaction as one audit record: each phase's change, start, verdict with evidence."""
        return {"context": context, "deployment": f"{self.change.namespace}/{self.change.name}",
                "end": end, "phases": [_phase_record(p) for p in self.phases]}


def _phase_record(phase: Phase) -> dict[str, Any]:
    change = phase.change
    record: dict[str, Any] = {
        "change": f"{change.verb}: {change.detail}", "revision_before": change.revision_before,
        "start": _iso(phase.started), "new_replicaset": phase.new_rs, "verdict": phase.verdict.state,
    }
    if phase.verdict.criterion:
        record["criterion"] = phase.verdict.criterion
    record["evidence"] = list(phase.verdict.evidence or phase.verdict.waiting)
    if phase.verdict_at is not None:
        record["verdict_at"] = _iso(phase.verdict_at)
    if phase.signal_at is not None and phase.verdict_at is not None:
        record["seconds_from_signal"] = round(phase.verdict_at - phase.signal_at, 2)
    return record


def revision_now(deployment: Any) -> int:
    return revision_of(deployment) if deployment is not None else 0


def namespace_events(connection: Any, namespace: str) -> EventSource:
    """The namespace's Events, watched for one rollout watch (the watch ticks on a timer)."""
    return NamespaceEvents(connection, namespace, lambda _kind: None)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(text: str | None) -> float | None:
    parsed = parse_time(text) if text else None
    return parsed.timestamp() if parsed is not None else None
