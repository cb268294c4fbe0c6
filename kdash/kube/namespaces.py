"""Namespace subsets: `-n a,b,c` names several namespaces, each watched and listed on its own."""

from __future__ import annotations

from typing import Any

from kdash.core.kinds import Kind
from kdash.core.objects import Obj
from kdash.kube import reflector


def split(namespace: str | None) -> list[str | None]:
    """The namespaces a watch or a LIST covers: "a,b" -> ["a", "b"] (blanks and repeats dropped,
    the order kept); None or "" (all namespaces) -> [None]."""
    names: list[str | None] = list(dict.fromkeys(part.strip() for part in (namespace or "").split(",") if part.strip()))
    return names or [None]


def primary(namespace: str | None) -> str | None:
    """The namespace given first: where a write without a namespace of its own goes."""
    return split(namespace)[0]


def list_objects(api_client: Any, kind: Kind, namespace: str | None, **options: Any) -> tuple[list[Obj], str]:
    """reflector.list_objects, once per namespace of a subset, the items joined: a user allowed
    only in the named namespaces never needs a cluster-wide LIST. The resourceVersion is the last
    LIST's (each namespace has its own; only a single LIST's is one to watch from)."""
    items: list[Obj] = []
    version = ""
    for each in split(namespace):
        more, version = reflector.list_objects(api_client, kind, each, **options)
        items.extend(more)
    return items, version
