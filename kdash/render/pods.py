"""Pod rows: kubectl's STATUS, READY and RESTARTS columns computed from raw Pod dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kdash.core import objects
from kdash.core.pods import Health, is_pod_ready, pod_health, status_info
from kdash.core.values import parse_time, short_image
from kdash.render.format import NONE, age


@dataclass(frozen=True)
class PodRow:
    """One pod as kubectl prints it, plus the bits the dashboard colours and filters by."""

    name: str
    namespace: str
    uid: str
    status: str
    """kubectl's STATUS column: Running, CrashLoopBackOff, Init:0/1, Terminating, …"""
    ready_text: str
    """kubectl's READY column: ready containers / containers ("1/2")."""
    ready: bool
    """The Pod's Ready condition is True (what Endpoints and ReplicaSets count)."""
    restarts: int
    restarts_text: str
    """kubectl ≥ 1.26 style: "3 (2m ago)"; plain "0" without restarts."""
    age: str
    node: str
    ip: str
    health: Health
    images: tuple[str, ...]
    phase: str
    created: datetime | None = None
    """When `age` counts from (the creation timestamp), for widgets that move ages at paint time."""
    last_restart: datetime | None = None
    """When the restarts' "(… ago)" counts from, if shown."""


def pod_row(pod: Mapping[str, Any], now: datetime) -> PodRow:
    """Render one Pod dict (API JSON shape) the way `kubectl get pods -o wide` does."""
    meta = objects.meta(pod)
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    info = status_info(pod)
    restarts_text = str(info.restarts)
    if info.restarts and info.last_restart is not None:
        restarts_text = f"{info.restarts} ({age(info.last_restart, now)} ago)"
    created = parse_time(meta.get("creationTimestamp"))
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else None) or status.get("podIP") or NONE
    return PodRow(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        uid=meta.get("uid", ""),
        status=info.reason,
        ready_text=f"{info.ready_containers}/{info.total_containers}",
        ready=is_pod_ready(pod),
        restarts=info.restarts,
        restarts_text=restarts_text,
        age=age(created, now),
        node=spec.get("nodeName") or NONE,
        ip=ip,
        health=pod_health(pod, info.reason),
        images=tuple(short_image(c.get("image", "")) for c in spec.get("containers") or ()),
        phase=status.get("phase") or "Unknown",
        created=created,
        last_restart=info.last_restart if info.restarts else None,
    )
