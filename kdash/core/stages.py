"""A staged ConfigMap restart: its consumers one Deployment at a time, stopping at the first failure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kdash.core import objects
from kdash.core.configmaps import data_hash, stamp_key

StageState = Literal["waiting", "restarting", "watching", "healthy", "failed", "current", "not restarted",
                     "unjudged"]
# A stage in one of these is over; "current": it already ran this data, nothing was restarted;
# "unjudged": restarted, but its watch was closed before the verdict.
ENDED: frozenset[str] = frozenset({"healthy", "failed", "current", "not restarted", "unjudged"})


@dataclass
class Stage:
    deployment: str
    state: StageState = "waiting"
    note: str = ""
    """The verdict's headline, the error, or why it was not restarted."""


@dataclass
class StagedRestart:
    """The plan and its progress. The order is the order given (the offer's); the next stage
    starts only after the one before ended healthy (or needed no restart)."""

    namespace: str
    configmap: str
    stages: list[Stage] = field(default_factory=list)
    stopped: str = ""
    """Why the run stopped early ("" while it runs or when every stage ran)."""

    @classmethod
    def of(cls, namespace: str, configmap: str, deployments: Sequence[str]) -> StagedRestart:
        return cls(namespace, configmap, [Stage(name) for name in dict.fromkeys(deployments)])

    def stage(self, deployment: str) -> Stage:
        return next(s for s in self.stages if s.deployment == deployment)

    def next_stage(self) -> Stage | None:
        """The stage to restart now: the first waiting one, once every stage before it ended well."""
        if self.stopped:
            return None
        for stage in self.stages:
            if stage.state == "waiting":
                return stage
            if stage.state not in ("healthy", "current"):
                return None
        return None

    def end(self, deployment: str, state: StageState, note: str = "") -> None:
        """A stage ended; a failure stops the run and leaves every later consumer alone."""
        stage = self.stage(deployment)
        stage.state, stage.note = state, note
        if state == "failed":
            self.stop(f"{deployment} failed")

    def stop(self, why: str) -> None:
        """Nothing further is restarted; the waiting stages say why (a finished run is not stopped)."""
        if self.stopped or self.done:
            return
        self.stopped = why
        for stage in self.stages:
            if stage.state == "waiting":
                stage.state, stage.note = "not restarted", why

    @property
    def done(self) -> bool:
        return all(s.state in ENDED for s in self.stages)

    @property
    def outcome(self) -> str:
        """"healthy" when every consumer ended healthy (or already ran the data), else "failed",
        "stopped", or "running"."""
        if not self.done:
            return "running"
        if any(s.state == "failed" for s in self.stages):
            return "failed"
        return "stopped" if self.stopped else "healthy"

    def lines(self) -> list[str]:
        """One line per stage, numbered in order: what the stage view shows."""
        total = len(self.stages)
        return [f"{i}/{total} {s.deployment}: {s.state}{f' — {s.note}' if s.note else ''}"
                for i, s in enumerate(self.stages, 1)]

    def record(self) -> dict[str, Any]:
        return {"configmap": f"{self.namespace}/{self.configmap}", "outcome": self.outcome,
                **({"stopped": self.stopped} if self.stopped else {}),
                "stages": [{"deployment": s.deployment, "state": s.state, "note": s.note} for s in self.stages]}


def stage_order(deployments: Iterable[Any]) -> list[str]:
    """The order to restart consumers in: the fewest replicas first (the smallest blast radius
    meets bad data first), then by name, so the same plan always runs the same way."""
    return [objects.name(d) for d in sorted(deployments, key=lambda d: (
        int((d.get("spec") or {}).get("replicas", 1) or 0), objects.name(d)))]


@dataclass(frozen=True)
class DataSpread:
    """Which pods of one consumer run the ConfigMap's current data (by the restart stamp they carry)."""

    deployment: str
    current: int
    old: int
    """Pods without this data's stamp: started before the restart (or never restarted by kdash)."""


def data_spread(configmap: Any, deployment: str, pods: Iterable[Any]) -> DataSpread:
    key, digest = stamp_key(objects.name(configmap)), data_hash(configmap)
    live = [p for p in pods if not objects.is_terminating(p)]
    current = sum(1 for p in live if objects.annotations(p).get(key) == digest)
    return DataSpread(deployment, current, len(live) - current)


def spread_text(spreads: Iterable[DataSpread]) -> str:
    """"old data: api 2 pods, web 1 pod" — or that every pod runs the current data."""
    old = [f"{s.deployment} {s.old} pod{'s' if s.old != 1 else ''}" for s in spreads if s.old]
    return f"old data: {', '.join(old)}" if old else "every consumer's pods run the current data"
