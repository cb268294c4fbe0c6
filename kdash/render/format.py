"""Small formatters shared by the renderers: ages, timestamps, ports, labels, sizes and cut text."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import humanize

from kdash.core.values import parse_time

NONE = "<none>"
UNKNOWN = "<unknown>"


def human_duration(delta: timedelta) -> str:
    """Format a duration exactly like kubectl's AGE column.

    A port of apimachinery `pkg/util/duration.HumanDuration` (the function behind kubectl's
    `translateTimestampSince`). It keeps 2-3 significant figures:

    ==================  ===========  ==================
    duration            format       example
    ==================  ===========  ==================
    < -1s               <invalid>    clock skew
    -1s .. 0s           0s
    < 2m                Ns           90s
    < 10m               NmSs / Nm    5m30s, 5m
    < 3h                Nm           125m
    < 8h                NhMm / Nh    7h5m, 3h
    < 48h               Nh           47h
    < 8d                NdHh / Nd    3d4h, 3d
    < 2y                Nd           400d
    < 8y                NyDd / Ny    3y45d, 3y
    otherwise           Ny           12y
    ==================  ===========  ==================
    """
    # Go's int() on a float and integer division of a Duration both truncate toward zero.
    seconds = int(delta.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if rest == 0 else f"{years}y{rest}d"
    return f"{hours // 24 // 365}y"


def age(timestamp: str | datetime | None, now: datetime) -> str:
    """kubectl-style age of an API timestamp ("<unknown>" when it is missing)."""
    moment = timestamp if isinstance(timestamp, datetime) else parse_time(timestamp)
    if moment is None:
        return UNKNOWN
    return human_duration(now - moment)


def ago(timestamp: str | datetime | None, now: datetime) -> str:
    """Prose age for the details pane, e.g. "3 minutes ago" (humanize)."""
    moment = timestamp if isinstance(timestamp, datetime) else parse_time(timestamp)
    if moment is None:
        return UNKNOWN
    return humanize.naturaltime(now - moment)


def timestamp_text(timestamp: str | None, now: datetime) -> str:
    """"2021-03-01 10:00:00 UTC (2h ago)" — absolute and relative, for describe views."""
    moment = parse_time(timestamp)
    if moment is None:
        return UNKNOWN
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({ago(moment, now)})"


def port_text(port: Mapping[str, Any]) -> str:
    """One Service port like kubectl: "80/TCP" or "80:30080/TCP" with a nodePort."""
    protocol = port.get("protocol") or "TCP"
    number = port.get("port", port.get("containerPort", "?"))
    node_port = port.get("nodePort") or 0
    if node_port > 0:
        return f"{number}:{node_port}/{protocol}"
    return f"{number}/{protocol}"


def ports_text(ports: Iterable[Mapping[str, Any]] | None) -> str:
    """kubectl's makePortString: comma-joined ports, "<none>" when there are none."""
    text = ",".join(port_text(p) for p in ports or ())
    return text or NONE


def labels_text(labels: Mapping[str, str] | None) -> str:
    """kubectl's FormatLabels: "a=b,c=d" sorted by key, "<none>" when empty."""
    if not labels:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def size_text(num_bytes: int) -> str:
    """Byte size for humans: "12 Bytes", "1.2 KiB"."""
    return humanize.naturalsize(num_bytes, binary=True)


def decoded_size(b64: str) -> int:
    """Size of a base64 value (Secret data, ConfigMap binaryData) without keeping the value."""
    try:
        return len(base64.b64decode(b64, validate=False))
    except (binascii.Error, ValueError):
        return len(b64)


def truncate(text: str, width: int) -> str:
    """Cut a label to `width` characters with an ellipsis."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def elide_middle(text: str, width: int) -> str:
    """Cut `text` to `width` characters by replacing its middle with "…".

    The end keeps the larger share: context names (EKS ARNs, gke_project_zone_cluster) differ
    most at their end.
    """
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 3
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]
