"""HorizontalPodAutoscaler status as kubectl prints it (printHorizontalPodAutoscaler), for v1, v2beta2 and v2."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kdash.core.objects import Obj, name, namespace

# What the v1 API means by an unset targetCPUUtilizationPercentage (the controller's default).
V1_DEFAULT_CPU_TARGET = 80
UNKNOWN = "<unknown>"
# kubectl shows at most two metrics, then "+ N more...".
MAX_METRICS = 2

TargetKey = tuple[str, str, str]
"""(kind, namespace, name) of a scale target, e.g. ("Deployment", "shop", "web")."""


@dataclass(frozen=True)
class HpaStatus:
    name: str
    min_replicas: int | None
    max_replicas: int
    current: int
    desired: int
    targets: str
    """kubectl's TARGETS: "cpu: 40%/80%", "cpu: <unknown>/80%"."""
    metrics_available: bool
    """False when any metric has no current value (no metrics server, or it cannot read one)."""
    message: str
    """Why metrics are unavailable (the ScalingActive condition), or ""."""

    @property
    def range_text(self) -> str:
        low = "<unset>" if self.min_replicas is None else str(self.min_replicas)
        return f"{low}-{self.max_replicas}"


def target_key(hpa: Obj) -> TargetKey:
    """The (kind, namespace, name) of spec.scaleTargetRef (the HPA's namespace)."""
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    return (ref.get("kind") or "", namespace(hpa), ref.get("name") or "")


def by_target(hpas: Iterable[Obj]) -> dict[TargetKey, Obj]:
    """Index HPAs by their target; of two HPAs on one target (the controller refuses both) the first by name."""
    index: dict[TargetKey, Obj] = {}
    for hpa in sorted(hpas, key=name):
        index.setdefault(target_key(hpa), hpa)
    return index


def metric_specs(hpa: Obj) -> list[Mapping[str, Any]]:
    """spec.metrics in the v2 shape; a v1 object's CPU target becomes one Resource metric."""
    spec = hpa.get("spec") or {}
    if "metrics" in spec:
        return list(spec.get("metrics") or ())
    if (hpa.get("apiVersion") or "").endswith("/v1") or "targetCPUUtilizationPercentage" in spec:
        target = spec.get("targetCPUUtilizationPercentage") or V1_DEFAULT_CPU_TARGET
        return [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                          "averageUtilization": target}}}]
    return []


def metric_statuses(hpa: Obj) -> list[Mapping[str, Any]]:
    """status.currentMetrics in the v2 shape (v1: the current CPU utilization, if known)."""
    status = hpa.get("status") or {}
    if "currentMetrics" in status:
        return list(status.get("currentMetrics") or ())
    current = status.get("currentCPUUtilizationPercentage")
    if current is None:
        return []
    return [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}}]


def hpa_status(hpa: Obj) -> HpaStatus:
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    specs, statuses = metric_specs(hpa), metric_statuses(hpa)
    texts, known = _metric_texts(specs, statuses)
    available = not specs or all(known)
    return HpaStatus(name(hpa), spec.get("minReplicas"), int(spec.get("maxReplicas") or 0),
                     int(status.get("currentReplicas") or 0), int(status.get("desiredReplicas") or 0),
                     _join(texts), available, "" if available else _inactive_reason(hpa))


def _metric_texts(specs: list[Mapping[str, Any]], statuses: list[Mapping[str, Any]]) -> tuple[list[str], list[bool]]:
    """kubectl's formatHPAMetrics, one "current/target" per metric, and whether current was known."""
    texts: list[str] = []
    known: list[bool] = []
    for index, metric in enumerate(specs):
        current_status = statuses[index] if index < len(statuses) else {}
        kind = metric.get("type") or ""
        field = kind[:1].lower() + kind[1:]  # "Resource" → "resource", "ContainerResource" → …
        source = metric.get(field) or {}
        current = (current_status.get(field) or {}).get("current") or {}
        target = source.get("target") or {}
        if kind in ("Resource", "ContainerResource"):
            if target.get("averageValue") is not None:
                now, goal = str(current.get("averageValue") or ""), str(target["averageValue"])
            else:
                now = _percent(current.get("averageUtilization")) or ""
                goal = _percent(target.get("averageUtilization")) or "<auto>"
            prefix = source.get("name") or ""
            if kind == "ContainerResource":
                prefix = f"{prefix} on {source.get('container') or ''}"
            texts.append(f"{prefix}: {now or UNKNOWN}/{goal}")
        elif kind in ("Pods", "Object", "External"):
            now = str((current.get("averageValue") if target.get("averageValue") is not None
                       else current.get("value")) or "")
            goal = str(target.get("averageValue") if target.get("averageValue") is not None else target.get("value"))
            texts.append(f"{now or UNKNOWN}/{goal}" + (" (avg)" if kind != "Pods" and
                                                       target.get("averageValue") is not None else ""))
        else:
            texts.append("<unknown type>")
            now = ""
        known.append(bool(now))
    return texts, known


def _percent(value: Any) -> str | None:
    return None if value is None else f"{int(value)}%"


def _join(texts: list[str]) -> str:
    if not texts:
        return "<none>"
    shown = ", ".join(texts[:MAX_METRICS])
    return f"{shown} + {len(texts) - MAX_METRICS} more..." if len(texts) > MAX_METRICS else shown


def _inactive_reason(hpa: Obj) -> str:
    """The ScalingActive=False condition's reason (FailedGetResourceMetric, …), if the server says."""
    for condition in (hpa.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "ScalingActive" and condition.get("status") == "False":
            return condition.get("reason") or ""
    return ""


def hpa_line(status: HpaStatus, target_name: str = "") -> str:
    """Short, for the end of the target's line: "hpa 2-5 (2→3) cpu: 40%/80%" (current → desired
    replicas), or "hpa 2-5 (2) metrics unavailable" (without metrics the controller computes no desired
    count: its 0 would read as "scaling to zero"). The HPA's name only when it differs from its target's."""
    name = "" if status.name == target_name else f" {status.name}"
    if not status.metrics_available:
        return f"hpa{name} {status.range_text} ({status.current}) metrics unavailable"
    return f"hpa{name} {status.range_text} ({status.current}→{status.desired}) {status.targets}"
