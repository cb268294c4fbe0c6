"""HPAs on their target's line, by (kind, namespace, name), for v2 and v1 shapes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from render_fixtures import load

from kdash.render.hpa import annotate, hpa_columns, hpa_index
from kdash.render.tree import Node, namespace_node

HPAS = [c["hpa"] for c in load("hpa.json")["cases"]]
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def node(kind: str, namespace: str, name: str) -> Node:
    return Node(key=f"{kind}/{namespace}/{name}", kind=kind, namespace=namespace, name=name, uid="",
                label=f"{name}  2/2 ready", health="ok")


def test_target_line_gets_the_hpa_and_others_stay_the_same_object() -> None:
    index = hpa_index(HPAS)
    web, other = node("Deployment", "shop", "web"), node("Deployment", "shop", "db")
    out = annotate([web, other], index)
    assert out[0].label == "web  2/2 ready  hpa 2-5 (2) metrics unavailable"
    long = dataclasses.replace(web, label="web  2/2 ready  up-to-date 2  5m", timed=((30, 32, NOW),))
    moved = annotate([long], index)[0]
    assert moved.label == "web  2/2 ready  hpa 2-5 (2) metrics unavailable  up-to-date 2  5m"
    (start, end, moment), = moved.timed
    assert moved.label[start:end] == "5m" and moment == NOW  # the age span moved with its text
    assert out[0].columns["hpa_metrics"] == "unavailable (FailedGetResourceMetric)"
    assert out[1] is other


def test_keyed_by_kind_and_inside_namespace_groups() -> None:
    index = hpa_index(HPAS)
    sts = node("StatefulSet", "shop", "api")
    grouped = annotate([namespace_node("shop", [sts])], index, kinds=frozenset({"StatefulSet"}))
    assert grouped[0].children[0].label.endswith("hpa 1-10 (3→4) cpu: 95%/80%, memory: 120Mi/200Mi + 1 more...")
    assert annotate([sts], index)[0] is sts  # StatefulSets not asked for
    assert hpa_columns("Deployment", "shop", "old", index)["hpa_targets"] == "cpu: 12%/80%"
    assert hpa_columns("Deployment", "shop", "nope", index) == {}
