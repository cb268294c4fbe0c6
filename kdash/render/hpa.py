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
    """`node` with its HPA in the label, right after its name and ready count ("web  3/3 ready  hpa 2-5 (3)
    metrics unavailable  up-to-date 3 …"), where 80 columns still show it; the same node when no HPA
    targets it."""
    hpa = index.get((node.kind, node.namespace, node.name))
    if hpa is None:
        return node
    line = hpa_line(hpa_status(hpa), node.name)
    at = _after_second_field(node.label)
    text = f"{line}  " if at is not None else f"  {line}"
    at = len(node.label) if at is None else at
    timed = tuple((start + len(text), end + len(text), moment) if start >= at else (start, end, moment)
                  for start, end, moment in node.timed)
    return dataclasses.replace(node, label=node.label[:at] + text + node.label[at:], timed=timed,
                               columns={**node.columns, **hpa_columns(node.kind, node.namespace, node.name, index)})


def _after_second_field(label: str) -> int | None:
    """Where the third field of a "name  ready  …" line starts (fields are two spaces apart); None
    when there are fewer fields."""
    first = label.find("  ")
    second = label.find("  ", first + 2) if first >= 0 else -1
    return second + 2 if second >= 0 else None


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
