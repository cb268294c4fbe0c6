"""Ownership and service trees: shape, order, keys, bare groups, endpoints, filtering."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from render_fixtures import NOW, items, pod_cases

from kdash.render.configmaps import build_configmap_tree
from kdash.render.services import build_service_tree
from kdash.render.tree import Node, filter_tree, find, flatten, label_at
from kdash.render.workloads import build_workload_tree


def workloads(**kwargs) -> list[Node]:
    return build_workload_tree(items("deployments"), items("replicasets"), items("pods"), NOW, **kwargs)


def services(**kwargs) -> list[Node]:
    return build_service_tree(items("services"), items("pods"), items("endpoints"), NOW, **kwargs)


def keys(nodes: list[Node]) -> list[str]:
    return [n.key for n in nodes]


def test_top_level_sorted_by_namespace_then_name_with_groups_last() -> None:
    assert keys(workloads()) == [
        "Deployment/default/api",
        "Deployment/default/web",
        "Deployment/default/worker",
        "Deployment/staging/web",
        "group/replicasets-without-deployment",
        "group/pods-without-replicaset",
    ]


def test_replicasets_newest_revision_first_and_pods_by_name() -> None:
    api = find(workloads(), "Deployment/default/api")
    assert api is not None
    assert [(c.name, c.columns["revision"]) for c in api.children] == [
        ("api-6f7d8c9b5", "3"), ("api-58c4d7f9b6", "2"), ("api-74b9d5c8f", "1")]
    web = find(workloads(), "Deployment/default/web")
    assert [c.name for c in web.children[0].children] == [
        "web-7d9c6b5f4-abcde", "web-7d9c6b5f4-fghij", "web-7d9c6b5f4-klmno"]
    assert [c.kind for c in web.children] == ["ReplicaSet", "ReplicaSet"]


def test_same_names_in_two_namespaces_stay_apart() -> None:
    tree = workloads()
    default_old = find(tree, "ReplicaSet/default/web-5b8f7c9d6")
    staging_rs = find(tree, "ReplicaSet/staging/web-5b8f7c9d6")
    assert [c.key for c in default_old.children] == ["Pod/default/web-5b8f7c9d6-pqrst"]
    assert [c.key for c in staging_rs.children] == ["Pod/staging/web-5b8f7c9d6-pqrst", "Pod/staging/web-5b8f7c9d6-uvwxy"]
    assert default_old.uid != staging_rs.uid


@pytest.mark.parametrize("build", [workloads, services, lambda: workloads(by_namespace=True),
                                   lambda: services(by_namespace=True)])
def test_keys_are_unique(build) -> None:
    counts = Counter(node.key for _, node in flatten(build()))
    assert counts and max(counts.values()) == 1


def test_every_pod_and_replicaset_appears_exactly_once() -> None:
    tree = workloads()
    seen = Counter((n.kind, n.uid) for _, n in flatten(tree) if n.kind in ("Pod", "ReplicaSet"))
    assert set(seen.values()) == {1}
    assert sum(1 for kind, _ in seen if kind == "Pod") == len(items("pods"))
    assert sum(1 for kind, _ in seen if kind == "ReplicaSet") == len(items("replicasets"))


def test_bare_groups() -> None:
    tree = workloads()
    bare_rs = find(tree, "group/replicasets-without-deployment")
    bare_pods = find(tree, "group/pods-without-replicaset")
    assert bare_rs.label == "ReplicaSets without Deployment (1)"
    assert [c.key for c in bare_rs.children] == ["ReplicaSet/default/legacy"]
    assert [c.key for c in bare_rs.children[0].children] == ["Pod/default/legacy-h7k2d"]
    # No owner, a Job owner, an owner RS that is gone; sorted by namespace then name.
    assert [c.key for c in bare_pods.children] == [
        "Pod/default/cache-55d6f7b8c9-z9y8x",
        "Pod/default/db-backup-1614556800-w2x3c",
        "Pod/default/debug-shell",
        "Pod/staging/db-migrate",
    ]
    assert bare_pods.health == "none" and bare_pods.kind == "group"


def test_labels_and_health() -> None:
    tree = workloads()
    assert find(tree, "Deployment/staging/web").label == "staging/web  2/2 ready  up-to-date 2  available 2  rev 1"
    assert find(tree, "Deployment/default/api").label.endswith("rev 3  FAILED")
    assert find(tree, "ReplicaSet/default/web-7d9c6b5f4").label == "rs web-7d9c6b5f4  rev 2  nginx:1.21  3/3/1"
    assert find(tree, "Pod/default/web-7d9c6b5f4-abcde").label == \
        "pod web-7d9c6b5f4-abcde  Running  1/1  0  7m29s  node-1  10.244.0.11"
    assert find(tree, "ReplicaSet/default/legacy").label == "rs default/legacy  httpd:2.4  1/1/1"
    health = {n.key: n.health for _, n in flatten(tree)}
    assert health["Deployment/default/api"] == "error"
    assert health["Deployment/default/web"] == "progressing"
    assert health["Deployment/default/worker"] == "warning"
    assert health["Deployment/staging/web"] == "ok"
    assert health["ReplicaSet/default/api-74b9d5c8f"] == "none"
    assert health["Pod/default/worker-c8d9e7f6a-m4n5p"] == "error"
    assert health["Pod/default/cache-55d6f7b8c9-z9y8x"] == "terminating"
    assert health["Pod/staging/db-migrate"] == "progressing"


def test_single_namespace_labels_have_no_prefix() -> None:
    default_only = [o for o in items("deployments") if o["metadata"]["namespace"] == "default"]
    tree = build_workload_tree(default_only, [], [], NOW)
    assert tree[0].label.startswith("api  ")


def test_labels_fit_a_terminal_line_and_are_deterministic() -> None:
    first = [(d, n.label) for d, n in flatten(workloads() + services())]
    second = [(d, n.label) for d, n in flatten(workloads() + services())]
    assert first == second
    common = [n.label for _, n in flatten(workloads()) if n.columns.get("status") == "Running"
              and n.columns.get("restarts") == "0"]
    assert common and max(len(label) for label in common) <= 76
    # Namespaced names and "7 (2m ago)" restarts make the rare long ones.
    assert max(len(label) for _, label in first) <= 90


def test_columns_and_labels_are_kept() -> None:
    web = find(workloads(), "Deployment/default/web")
    assert web.columns["rollout"] == "rolling: new RS 1/3, old RS 1"
    assert web.columns["images"] == "nginx:1.21"
    assert web.labels == {"app": "web"}
    pod = find(workloads(), "Pod/default/web-7d9c6b5f4-abcde")
    assert pod.labels["pod-template-hash"] == "7d9c6b5f4"
    assert pod.columns["status"] == "Running"


def test_by_namespace_groups_everything_per_namespace() -> None:
    tree = workloads(by_namespace=True)
    assert keys(tree) == ["Namespace/default", "Namespace/staging"]
    assert keys(list(tree[1].children)) == ["Deployment/staging/web", "group/staging/pods-without-replicaset"]
    assert tree[1].children[0].label.startswith("web  ")
    by_ns = services(by_namespace=True)
    assert keys(by_ns) == ["Namespace/default", "Namespace/staging"]
    assert keys(list(by_ns[1].children)) == ["Service/staging/ghost", "Service/staging/web"]
    assert by_ns[1].children[1].label.startswith("svc web  ClusterIP")


def test_empty_input() -> None:
    assert build_workload_tree([], [], [], NOW) == []
    assert build_service_tree([], [], [], NOW) == []


# ---------------------------------------------------------------------------------------------
# Services


def test_service_children_and_endpoint_states() -> None:
    web = find(services(), "Service/default/web")
    assert web.label == "svc default/web  NodePort  10.96.12.34  80:30080/TCP  2/4 ready"
    states = {c.name: c.columns["endpoint"] for c in web.children}
    assert states == {
        "web-5b8f7c9d6-pqrst": "ready",
        "web-7d9c6b5f4-abcde": "ready",
        "web-7d9c6b5f4-fghij": "not ready",       # in notReadyAddresses
        "web-7d9c6b5f4-klmno": "not in endpoints",  # no IP yet
    }
    assert [c.key for c in web.children][0] == "Service/default/web/Pod/default/web-5b8f7c9d6-pqrst"
    assert web.columns["dns"] == "web.default.svc.cluster.local"
    assert web.columns["endpoints"] == "2 ready, 1 not ready"
    assert web.health == "warning"
    health = {c.name: c.health for c in web.children}
    assert health["web-7d9c6b5f4-fghij"] == "warning"
    assert health["web-7d9c6b5f4-klmno"] == "progressing"


def test_services_without_selector_or_matches() -> None:
    tree = services()
    manual = find(tree, "Service/default/legacy-db")
    assert manual.children == () and manual.columns["note"] == "no selector"
    assert manual.label.endswith("no selector") and manual.health == "none"
    external = find(tree, "Service/default/payments")
    assert external.label == "svc default/payments  ExternalName  → payments.example.com"
    ghost = find(tree, "Service/staging/ghost")
    assert ghost.children == () and ghost.label.endswith("selector matches no pods") and ghost.health == "warning"


def test_service_selects_only_its_namespace() -> None:
    staging = find(services(), "Service/staging/web")
    assert [c.name for c in staging.children] == ["web-5b8f7c9d6-pqrst", "web-5b8f7c9d6-uvwxy"]
    assert all(c.namespace == "staging" and c.columns["endpoint"] == "ready" for c in staging.children)
    assert staging.health == "ok"


def test_missing_endpoints_object() -> None:
    tree = build_service_tree(items("services"), items("pods"), [], NOW)
    web = find(tree, "Service/default/web")
    assert {c.columns["endpoint"] for c in web.children} == {"no endpoints"}
    assert web.columns["note"] == "no endpoints object"


def test_recreated_pod_with_same_name_is_not_an_endpoint() -> None:
    pods = items("pods")
    for pod in pods:
        if pod["metadata"]["name"] == "web-7d9c6b5f4-abcde":
            pod["metadata"]["uid"] = "00000000-0000-0000-0000-000000000000"
    web = find(build_service_tree(items("services"), pods, items("endpoints"), NOW), "Service/default/web")
    assert {c.name: c.columns["endpoint"] for c in web.children}["web-7d9c6b5f4-abcde"] == "not in endpoints"


# ---------------------------------------------------------------------------------------------
# Walking and filtering


def test_flatten_depths_and_find() -> None:
    pairs = list(flatten(workloads()))
    assert pairs[0] == (0, find(workloads(), "Deployment/default/api"))
    assert {d for d, n in pairs if n.kind == "Pod" and n.namespace == "default" and "api" in n.name} == {2}
    assert find(workloads(), "Pod/default/nope") is None


def test_filter_by_name_keeps_ancestors() -> None:
    tree = filter_tree(workloads(), name_substring="KLMNO")
    assert [(d, n.key) for d, n in flatten(tree)] == [
        (0, "Deployment/default/web"),
        (1, "ReplicaSet/default/web-7d9c6b5f4"),
        (2, "Pod/default/web-7d9c6b5f4-klmno"),
    ]


def test_filter_by_label_selector() -> None:
    tree = filter_tree(workloads(), label_selector="pod-template-hash=5b8f7c9d6")
    flat = [n.key for _, n in flatten(tree)]
    assert "Deployment/default/web" in flat and "Deployment/staging/web" in flat
    assert "ReplicaSet/default/web-7d9c6b5f4" not in flat
    assert "Pod/staging/web-5b8f7c9d6-uvwxy" in flat


def test_filter_updates_group_counts_and_drops_empty_groups() -> None:
    tree = filter_tree(workloads(), name_substring="debug")
    assert keys(tree) == ["group/pods-without-replicaset"]
    assert tree[0].label == "Pods without ReplicaSet (1)"


def test_filter_combines_name_and_selector() -> None:
    tree = filter_tree(services(), name_substring="web", label_selector="app=web,!missing")
    assert keys(tree) == ["Service/default/web", "Service/staging/web"]
    assert filter_tree(services(), name_substring="web", label_selector="app=nope") == []


def test_no_filter_returns_input_and_bad_selector_raises() -> None:
    tree = workloads()
    assert filter_tree(tree) == tree
    assert filter_tree(tree, name_substring="  ", label_selector="") == tree
    with pytest.raises(ValueError, match="invalid label selector"):
        filter_tree(tree, label_selector="app in web")


def test_nodes_are_hashable_and_comparable() -> None:
    a, b = workloads(), workloads()
    assert a == b
    assert len({hash(n) for n in a}) == len(a)


@pytest.mark.parametrize("later", [timedelta(seconds=1), timedelta(minutes=9), timedelta(hours=5), timedelta(days=40)])
def test_painted_ages_equal_a_build_at_paint_time(later: timedelta) -> None:
    # Every pod state of the fixtures, restarts "(… ago)" included: the widget paints
    # label_at(node, t) and must show what a fresh build at t would say.
    pods = [case["pod"] for case in pod_cases()] + items("pods")
    built = build_workload_tree([], [], pods, NOW)
    fresh = build_workload_tree([], [], pods, NOW + later)
    assert [label_at(n, NOW + later) for _, n in flatten(built)] == [n.label for _, n in flatten(fresh)]
    assert any(len(n.timed) == 2 for _, n in flatten(built))  # an age and a last-restart age
    created = (NOW - timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    configmaps = [{"metadata": {"name": "c", "namespace": "default", "creationTimestamp": created},
                   "data": {"a": "1"}}]
    cm_built, cm_fresh = build_configmap_tree(configmaps, [], NOW), build_configmap_tree(configmaps, [], NOW + later)
    assert label_at(cm_built[0], NOW + later) == cm_fresh[0].label != cm_built[0].label
