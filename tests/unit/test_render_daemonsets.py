"""The DaemonSet tree: a line per node, a node without its pod visible, misscheduled pods marked."""

from __future__ import annotations

import copy

from render_fixtures import load

from kdash.core.values import parse_time
from kdash.render.daemonsets import build_daemonset_tree


def _fixture() -> dict:
    return copy.deepcopy(load("daemonsets.json"))


def _build(fixture: dict, nodes=()) -> list:
    all_nodes = None if nodes is None else fixture["nodes"]["items"] + list(nodes)
    return build_daemonset_tree(fixture["daemonsets"]["items"], fixture["pods"]["items"], all_nodes,
                                fixture["controllerrevisions"]["items"], parse_time(fixture["now"]))


def _extra_node(fixture: dict, name: str, taints=None) -> dict:
    node = copy.deepcopy(fixture["nodes"]["items"][0])
    node["metadata"]["name"] = name
    node["metadata"]["labels"]["kubernetes.io/hostname"] = name
    node["spec"]["taints"] = taints or []
    return node


def test_one_line_per_node_with_kubectl_counts() -> None:
    fixture = _fixture()
    (agent,) = _build(fixture)
    assert agent.label == ("ds node-agent  desired 2 current 2 ready 2 up-to-date 2 available 2  rev 2")
    assert [c.columns["for_node"] for c in agent.children] == ["kdash-node-1", "kdash-node-2"]
    assert all(c.kind == "Pod" and c.label.endswith(f"on {c.columns['for_node']}") for c in agent.children)
    assert agent.columns["max_unavailable"] == "1" and agent.health == "ok"


def test_a_node_without_its_pod_is_visible() -> None:
    fixture = _fixture()
    (agent,) = _build(fixture, [_extra_node(fixture, "kdash-node-3")])
    last = agent.children[-1]
    assert last.kind == "notice" and last.label == "node kdash-node-3  no pod (should run one)"
    assert agent.health == "warning"


def test_a_node_the_daemon_may_not_run_on_is_only_counted() -> None:
    fixture = _fixture()
    tainted = _extra_node(fixture, "kdash-node-9", [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    (agent,) = _build(fixture, [tainted])
    assert len(agent.children) == 2 and agent.columns["excluded_nodes"] == "1"


def test_a_pod_on_a_node_it_should_not_run_on_is_misscheduled() -> None:
    fixture = _fixture()
    fixture["nodes"]["items"][0]["spec"]["taints"] = [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]
    (agent,) = _build(fixture)
    first = agent.children[0]
    assert "(misscheduled: taint dedicated=db:NoExecute)" in first.label and first.health == "warning"


def test_old_revision_pods_are_marked_to_update() -> None:
    fixture = _fixture()
    old = next(c for c in fixture["controllerrevisions"]["items"] if c["revision"] == 1)
    pod = fixture["pods"]["items"][0]
    pod["metadata"]["labels"]["controller-revision-hash"] = old["metadata"]["labels"]["controller-revision-hash"]
    (agent,) = _build(fixture)
    line = next(c for c in agent.children if c.name == pod["metadata"]["name"])
    assert "rev 1 (to update)" in line.label


def test_without_nodes_says_what_it_cannot_show() -> None:
    (agent,) = _build(_fixture(), None)
    assert agent.children[-1].label == "nodes not listed: a node without its pod cannot be shown"
    assert len(agent.children) == 3


def test_describe_shows_counts_and_strategy() -> None:
    from kdash.render.details import describe

    fixture = _fixture()
    (section,) = describe(fixture["daemonsets"]["items"][0], {}, parse_time(fixture["now"]), kind="DaemonSet")
    rows = dict(section.rows)
    assert rows["Pods"] == "2 desired | 2 current | 2 ready | 2 up-to-date | 2 available | 0 misscheduled"
    assert rows["Update strategy"] == "RollingUpdate, maxUnavailable 1"
