"""HPAs on the line of their target (Deployment, StatefulSet, …), keyed by (kind, namespace, name)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from kdash.core.hpa import TargetKey, by_target, hpa_line, hpa_status
from kdash.core.objects import Obj
from kdash.render.tree import Node

HpaIndex = Mapping[TargetKey, Obj]


def hpa_index(hpas: Iterable[Obj]) -> HpaIndex:
    return by_target(hpas)


def hpa_columns(kind: str, namespace: str, name: str, index: HpaIndex) -> dict[str, str]:
    """The describe fields of the HPA that scales (kind, namespace, name); {} when none does."""
    hpa = index.get((kind, namespace, name))
    if hpa is None:
        return {}
    status = hpa_status(hpa)
    return {"hpa": status.name, "hpa_min": "" if status.min_replicas is None else str(status.min_replicas),
            "hpa_max": str(status.max_replicas), "hpa_current": str(status.current),
            "hpa_desired": str(status.desired), "hpa_targets": status.targets,
            "hpa_metrics": "available" if status.metrics_available else
            f"unavailable{f' ({status.message})' if status.message else ''}"}


def with_hpa(node: Node, index: HpaIndex) -> Node:
    """`node` with its HPA appended to the label ("… · hpa 2-5 (2→2) metrics unavailable"); the same
    node when no HPA targets it."""
    hpa = index.get((node.kind, node.namespace, node.name))
    if hpa is None:
        return node
    return dataclasses.replace(node, label=f"{node.label}  · {hpa_line(hpa_status(hpa), node.name)}",
                               columns={**node.columns, **hpa_columns(node.kind, node.namespace, node.name, index)})


def annotate(nodes: Sequence[Node], index: HpaIndex, kinds: frozenset[str] = frozenset({"Deployment"})) -> list[Node]:
    """Top-level nodes of `kinds` (also inside namespace groups) with their HPA; untouched nodes stay
    the same objects, so the widget's patch sees no change there."""
    if not index:
        return list(nodes)
    out: list[Node] = []
    for node in nodes:
        if node.kind in kinds:
            node = with_hpa(node, index)
        elif node.kind in ("Namespace", "group") and node.children:
            children = tuple(annotate(node.children, index, kinds))
            if any(a is not b for a, b in zip(children, node.children)):
                node = dataclasses.replace(node, children=children)
        out.append(node)
    return out
