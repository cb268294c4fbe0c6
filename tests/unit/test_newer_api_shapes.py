"""Objects as 1.29-1.34 servers send them (tests/unit/fixtures/newer_api): native sidecars, in-place
resize, EndpointSlices and fields kdash does not know render as kubectl shows them."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

import pytest

from kdash.core.endpoints import endpoints_from_slices, merge_slices
from kdash.core.pods import pod_health, pod_status, resize_status
from kdash.core.values import parse_time
from kdash.kube.objects import slim
from kdash.render.details import describe
from kdash.render.pods import pod_row
from kdash.render.services import build_service_tree
from kdash.render.workloads import build_workload_tree

NEWER = Path(__file__).parent / "fixtures" / "newer_api"


def load(name: str) -> dict:
    return json.loads((NEWER / name).read_text())


PODS = load("pods.json")
NOW: datetime = parse_time(PODS["now"])  # type: ignore[assignment]
CASES = PODS["cases"]
SLICES = load("endpointslices.json")


def rows(sections, title: str) -> dict[str, str]:
    return dict(next(s for s in sections if s.title == title).rows)


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_pod_columns_are_kubectls(case: dict) -> None:
    expected = case["expected"]
    for pod in (case["pod"], slim(case["pod"], compact=True)):  # as listed, and as a watch event stores it
        row = pod_row(pod, NOW)
        assert (row.status, row.ready_text, row.restarts_text, row.health) == (
            expected["status"], expected["ready"], expected["restarts"], expected["health"]), case["why"]
        assert pod_status(pod) == expected["status"]
        assert pod_health(pod) == expected["health"]
        assert resize_status(pod) == expected.get("resize")


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_the_tree_shows_each_pod_as_kubectl_would(case: dict) -> None:
    pod = case["pod"]
    owner = pod["metadata"]["ownerReferences"][0]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "shop", "uid": "d0d0d0d0-0000-4000-8000-000000000001",
                               "creationTimestamp": PODS["now"], "generation": 2, "futureField": 1},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod["spec"]}},
                  "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                             "availableReplicas": 1, "terminatingReplicas": 0}}
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": owner["name"], "namespace": "shop", "uid": owner["uid"], "creationTimestamp": PODS["now"],
                       "annotations": {"deployment.kubernetes.io/revision": "1"}, "generation": 1,
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                            "uid": deployment["metadata"]["uid"], "controller": True}]},
          "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}},
          "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "terminatingReplicas": 0}}
    (top,) = build_workload_tree([deployment], [rs], [pod], NOW)
    assert top.kind == "Deployment"
    (rs_node,) = top.children
    (pod_node,) = rs_node.children
    e = case["expected"]
    assert pod_node.label.startswith(f"pod {pod['metadata']['name']}  {e['status']}  {e['ready']}  ")
    assert pod_node.health == e["health"]
    assert (pod_node.columns["status"], pod_node.columns["ready"], pod_node.columns["restarts"]) == (
        e["status"], e["ready"], e["restarts"])


def test_describe_marks_sidecars_and_counts_them_in_ready() -> None:
    case = next(c for c in CASES if c["case"] == "sidecar-crashloop")
    sections = describe(case["pod"], {}, NOW)
    pod = rows(sections, "Pod")
    assert pod["Status"] == "Init:CrashLoopBackOff"
    assert pod["Ready"] == "1/2 containers, pod not ready"
    assert pod["Restarts"] == "5 (2m ago)"
    sidecar = rows(sections, "Init container istio-proxy")
    assert sidecar["Restart policy"] == "Always (sidecar)"
    assert sidecar["State"].startswith("Waiting: CrashLoopBackOff (back-off 2m40s")
    assert sidecar["Restarts"] == "5"
    plain = next(c for c in CASES if c["case"] == "sidecar-running")
    migrate = rows(describe(plain["pod"], {}, NOW), "Init container migrate")
    assert "Restart policy" not in migrate  # an ordinary init container, done
    assert migrate["State"].startswith("Terminated: Completed, exit code 0")


@pytest.mark.parametrize("name, resize", [("resize-in-progress-1-32", "InProgress"),
                                          ("resize-pending-1-33", "Pending: Infeasible (Node didn't have enough "
                                                                  "capacity: cpu, requested: 8000, capacity: 4000)"),
                                          ("resize-in-progress-1-33", "InProgress"),
                                          ("sidecar-running", None)])
def test_describe_shows_a_resize_in_flight_in_either_shape(name: str, resize: str | None) -> None:
    case = next(c for c in CASES if c["case"] == name)
    sections = describe(case["pod"], {}, NOW)
    assert rows(sections, "Pod").get("Resize") == resize
    if name == "resize-pending-1-33":
        # The condition itself is listed like every other, as kubectl describe lists it.
        assert rows(sections, "Conditions")["PodResizePending"].startswith(
            "True Infeasible: Node didn't have enough capacity")


def test_resize_legacy_values_use_the_conditions_words() -> None:
    pod = {"status": {"resize": "Deferred"}}
    assert resize_status(pod) == "Pending: Deferred"
    assert resize_status({"status": {"resize": "Infeasible"}}) == "Pending: Infeasible"
    assert resize_status({"status": {"resize": ""}}) is None
    assert resize_status({"status": {"conditions": [{"type": "PodResizePending", "status": "False"}]}}) is None


def test_unknown_fields_and_condition_types_are_shown_not_fatal() -> None:
    case = next(c for c in CASES if c["case"] == "unknown-fields")
    sections = describe(case["pod"], {}, NOW)
    conditions = rows(sections, "Conditions")
    assert conditions["example.com/FutureGate"].startswith("True SomethingNew: a condition type kdash has never seen")
    assert conditions["DisruptionTarget"].startswith("False NoDisruption")
    assert rows(sections, "Container app")["State"].startswith("Running")
    # Unknown keys survive slimming untouched (kdash never drops what it does not understand).
    slimmed = slim(case["pod"], compact=True)
    assert slimmed["status"]["futureStatusField"] == {"nested": [{"deep": True}]}
    assert "managedFields" not in slimmed["metadata"]


# -- EndpointSlices ----------------------------------------------------------------------------


def test_slices_fold_into_the_endpoints_the_controller_writes() -> None:
    merged = {e["metadata"]["name"]: e for e in endpoints_from_slices(SLICES["endpointslices"])}
    expected = {e["metadata"]["name"]: e for e in SLICES["endpoints"]}
    assert set(merged) == set(expected)  # the slice of no Service is left out
    for name, endpoints in expected.items():
        assert merged[name]["subsets"] == endpoints["subsets"], name
        assert merged[name]["metadata"]["namespace"] == endpoints["metadata"]["namespace"]


def test_merge_is_order_independent_and_tracks_every_slice_revision() -> None:
    web = [s for s in SLICES["endpointslices"] if s["metadata"]["labels"].get("kubernetes.io/service-name") == "web"]
    one = merge_slices("shop", "web", web)
    assert merge_slices("shop", "web", list(reversed(web))) == one
    changed = copy.deepcopy(web)
    changed[0]["metadata"]["resourceVersion"] = "9999"
    assert merge_slices("shop", "web", changed)["metadata"]["resourceVersion"] != one["metadata"]["resourceVersion"]


def test_a_nil_ready_condition_means_ready_and_terminating_endpoints_are_left_out() -> None:
    (api,) = [e for e in endpoints_from_slices(SLICES["endpointslices"]) if e["metadata"]["name"] == "api"]
    assert [a["ip"] for a in api["subsets"][0]["addresses"]] == ["10.244.1.50", "192.168.10.5"]
    (web,) = [e for e in endpoints_from_slices(SLICES["endpointslices"]) if e["metadata"]["name"] == "web"]
    listed = {a["ip"] for s in web["subsets"] for k in ("addresses", "notReadyAddresses") for a in s.get(k, ())}
    assert "10.244.2.40" not in listed  # terminating
    assert not any(":" in ip for ip in listed)  # the IPv6 slice of a dual-stack Service


def test_an_ipv6_only_service_keeps_its_family() -> None:
    v6 = next(s for s in SLICES["endpointslices"] if s["addressType"] == "IPv6")
    (endpoints,) = endpoints_from_slices([v6])
    assert endpoints["subsets"][0]["addresses"][0]["ip"] == "fd00:10:244::11"


def test_a_service_without_ready_or_not_ready_endpoints_has_no_subsets() -> None:
    web = next(s for s in SLICES["endpointslices"] if s["metadata"]["name"] == "web-q9m4d")
    draining = copy.deepcopy(web)
    draining["endpoints"] = [e for e in draining["endpoints"] if e["conditions"].get("terminating")]
    (endpoints,) = endpoints_from_slices([draining])
    assert "subsets" not in endpoints


def _service_views(endpoints: list[dict]) -> tuple[list[tuple[str, str, dict]], dict[str, list]]:
    services = [slim(s) for s in SLICES["services"]]
    pods = [slim(p) for p in SLICES["pods"]]
    tree = build_service_tree(services, pods, endpoints, NOW)
    flat = []

    def walk(nodes) -> None:
        for node in nodes:
            flat.append((node.key, node.label, node.health, dict(node.columns)))
            walk(node.children)

    walk(tree)
    described = {s["metadata"]["name"]: [(x.title, x.rows) for x in describe(s, {"Endpoints": endpoints}, NOW)]
                 for s in services}
    return flat, described


def test_services_render_the_same_from_endpoints_or_from_endpointslices() -> None:
    from_endpoints = _service_views(SLICES["endpoints"])
    from_slices = _service_views(endpoints_from_slices(SLICES["endpointslices"]))
    assert from_slices == from_endpoints
    tree, described = from_slices
    labels = {key: label for key, label, _, _ in tree}
    assert labels["Service/shop/web"].endswith("3/5 ready")  # the terminating pod is selected, not an endpoint
    states = {key.rsplit("/", 1)[-1]: columns.get("endpoint") for key, _, _, columns in tree if "/Pod/" in key}
    assert states == {"web-5c8d7f9b6-a0001": "ready", "web-5c8d7f9b6-a0002": "ready",
                      "web-5c8d7f9b6-a0003": "not ready", "web-5c8d7f9b6-a0004": "ready",
                      "web-5c8d7f9b6-a0005": "not in endpoints", "api-6f9d8-b0001": "ready"}
    endpoints_rows = dict(dict(described["web"])["Endpoints"])
    assert endpoints_rows["Ready"] == ("10.244.1.30 (web-5c8d7f9b6-a0004), 10.244.1.9 (web-5c8d7f9b6-a0002), "
                                       "10.244.3.17 (web-5c8d7f9b6-a0001)")
    assert endpoints_rows["Not ready"] == "10.244.2.4 (web-5c8d7f9b6-a0003)"
