"""Load the JSON fixtures of the render tests (fresh copies, so tests cannot leak mutations)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from kdash.core.values import parse_time

FIXTURES = Path(__file__).parent / "fixtures"


@cache
def _text(name: str) -> str:
    return (FIXTURES / name).read_text()


def load(name: str) -> Any:
    return json.loads(_text(name))


def cluster() -> dict[str, Any]:
    """cluster.json: List responses by kind plus the frozen `now` they were written for."""
    return load("cluster.json")


def items(kind: str) -> list[dict[str, Any]]:
    """Items of one List in cluster.json ("deployments", "pods", …)."""
    return cluster()[kind]["items"]


def by_name(kind: str, name: str, namespace: str = "default") -> dict[str, Any]:
    for obj in items(kind):
        meta = obj["metadata"]
        if meta["name"] == name and meta.get("namespace") == namespace:
            return obj
    raise KeyError(f"{kind} {namespace}/{name} not in cluster.json")


def pod_cases() -> list[dict[str, Any]]:
    return load("pod_states.json")["cases"]


NOW: datetime = parse_time(cluster()["now"])  # type: ignore[assignment]
