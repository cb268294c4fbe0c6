"""Pod records (core/records.py) show exactly what the full objects show, and the GC never walks them."""

from __future__ import annotations

import copy
import gc
import json
import threading

from hypothesis import given, settings
from hypothesis import strategies as st
from render_fixtures import NOW, cluster, load

from kdash.core.frozen import is_frozen
from kdash.core.kinds import POD
from kdash.core.objects import full, key
from kdash.core.pods import claim_names, is_pod_ready, pod_health, status_info, wanted_node
from kdash.core.records import PodRecord, Record, decode_record, expand, to_builtins
from kdash.core.rollout import rollout_status
from kdash.kube.objects import slim
from kdash.kube.reflector import Reflector
from kdash.kube.store import Store
from kdash.render import text as render_text
from kdash.render.daemonsets import build_daemonset_tree
from kdash.render.details import describe
from kdash.render.pods import pod_row
from kdash.render.services import build_service_tree
from kdash.render.statefulsets import build_statefulset_tree
from kdash.render.workloads import build_workload_tree
from kdash.screens.yaml_view import to_yaml


def fixture_pods() -> list[dict]:
    return (cluster()["pods"]["items"] + [case["pod"] for case in load("pod_states.json")["cases"]]
            + [case["pod"] for case in load("newer_api/pods.json")["cases"]]
            + controller_pods("statefulsets.json") + controller_pods("daemonsets.json") + controller_pods("jobs.json"))


def controller_pods(name: str) -> list[dict]:
    pods = load(name)["pods"]
    return pods["items"] if isinstance(pods, dict) else pods


def record_of(pod: dict) -> PodRecord:
    record = decode_record("Pod", json.dumps(pod).encode())
    assert isinstance(record, PodRecord)
    return record


def projection(full_obj, shape):
    """`full_obj` cut down to the keys `shape` (a record as builtins) has, recursively."""
    if isinstance(shape, dict) and isinstance(full_obj, dict):
        return {k: projection(full_obj[k], v) for k, v in shape.items() if k in full_obj}
    if isinstance(shape, list) and isinstance(full_obj, list):
        return [projection(f, s) for f, s in zip(full_obj, shape)]
    return full_obj


def tracked_inside(value) -> int:
    """GC-tracked objects in a record's tree (the record itself included)."""
    count = int(gc.is_tracked(value))
    if isinstance(value, Record):
        return count + sum(tracked_inside(v) for v in value.values())
    if isinstance(value, tuple | list):
        return count + sum(tracked_inside(v) for v in value)
    if isinstance(value, dict):
        return count + sum(tracked_inside(v) for v in value.values())
    return count


def test_every_fixture_pod_reads_the_same_from_its_record():
    for pod in fixture_pods():
        stored = slim(pod, POD)
        record = record_of(pod)
        shape = to_builtins(record)
        assert shape == projection(stored, shape), key(stored)
        assert expand(record) == stored
        assert full(record) == stored and full(stored) is stored
        assert status_info(record) == status_info(stored)
        assert pod_health(record) == pod_health(stored)
        assert is_pod_ready(record) == is_pod_ready(stored)
        assert pod_row(record, NOW) == pod_row(stored, NOW)
        assert to_yaml(full(record)) == to_yaml(stored)
        assert describe(full(record), None, NOW, kind="Pod") == describe(stored, None, NOW, kind="Pod")


def test_trees_statuses_and_describe_equal_from_records_and_from_full_objects():
    objects = cluster()
    deployments, replicasets = objects["deployments"]["items"], objects["replicasets"]["items"]
    services, endpoints = objects["services"]["items"], objects["endpoints"]["items"]
    dicts = [slim(p, POD) for p in objects["pods"]["items"]]
    records = [record_of(p) for p in objects["pods"]["items"]]
    workloads = build_workload_tree(deployments, replicasets, records, NOW)
    assert workloads == build_workload_tree(deployments, replicasets, dicts, NOW)
    svc = build_service_tree(services, records, endpoints, NOW)
    assert svc == build_service_tree(services, dicts, endpoints, NOW)
    assert render_text.render_trees(workloads, svc) is not None
    for rs in replicasets:
        assert describe(rs, {"Pod": records}, NOW) == describe(rs, {"Pod": dicts}, NOW)
    for deployment in deployments:
        assert rollout_status(deployment, replicasets) is not None


def test_statefulset_and_daemonset_trees_equal_from_records_and_from_dicts():
    # Their trees read fields of Pods the Deployment tree does not: claims (volumes) and the node a
    # daemon pod is pinned to by required node affinity before it is scheduled.
    sts, ds = load("statefulsets.json"), load("daemonsets.json")
    for fixture, build, args in (
            (sts, build_statefulset_tree, (sts["statefulsets"]["items"],)),
            (ds, build_daemonset_tree, (ds["daemonsets"]["items"],))):
        pods = fixture["pods"]["items"]
        rest = ((fixture["persistentvolumeclaims"]["items"],) if build is build_statefulset_tree
                else (fixture["nodes"]["items"],)) + (fixture["controllerrevisions"]["items"],)
        from_records = build(*args, [record_of(p) for p in pods], *rest, NOW)
        assert from_records == build(*args, [slim(p, POD) for p in pods], *rest, NOW)
        assert from_records
    pinned = {"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}}},
        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data-0"}}, {"name": "c", "configMap": {}}],
        "containers": [{"name": "c", "image": "i"}]}, "metadata": {"name": "p", "namespace": "ns", "uid": "u"}}
    record = record_of(pinned)
    assert (wanted_node(record), claim_names(record)) == (wanted_node(pinned), claim_names(pinned)) == \
        ("n2", ("data-0",))


def test_a_record_is_never_tracked_by_the_garbage_collector():
    records = [record_of(p) for p in fixture_pods()]
    gc.collect()  # tuples are untracked by the first collection that sees them
    assert sum(tracked_inside(r) for r in records) == 0
    assert sum(tracked_inside(slim(p, POD)) for p in fixture_pods()) > 10 * len(records)


def test_unknown_fields_are_skipped_and_a_misfit_object_is_kept_as_every_other_kind():
    pod = copy.deepcopy(fixture_pods()[0])
    pod["spec"]["someFutureField"] = {"nested": [1, 2]}
    pod["status"]["containerStatuses"][0]["newThing"] = True
    assert "someFutureField" not in record_of(pod).get("spec").__struct_fields__
    assert full(record_of(pod))["spec"]["someFutureField"] == {"nested": [1, 2]}
    pod["status"]["phase"] = 7  # not a string: no record, and the store keeps it as other kinds
    assert decode_record("Pod", json.dumps(pod).encode()) is None
    reflector = Reflector(None, POD, None, Store(), lambda kind: None, threading.Event())
    reflector.apply_lines([json.dumps({"type": "ADDED", "object": pod}).encode()])
    stored = reflector.store.get("Pod", *key(pod))
    assert is_frozen(stored) and stored["status"]["phase"] == 7
    assert full(stored)["spec"]["someFutureField"] == {"nested": [1, 2]}


def test_a_record_reads_like_a_dict(monkeypatch):
    from kdash.core import records

    monkeypatch.setattr(records, "STRICT", False)  # "nope" is no field of a Pod
    pod = fixture_pods()[0]
    record = record_of(pod)
    assert record["metadata"]["name"] == pod["metadata"]["name"]
    assert "metadata" in record and "raw" not in record and "nope" not in record
    assert record.get("nope", 5) == 5
    assert set(record.keys()) == {"apiVersion", "kind", "metadata", "spec", "status"}
    empty = decode_record("Pod", b'{"status": {"containerStatuses": [{"state": {}}]}}')
    assert empty is not None
    state = empty["status"]["containerStatuses"][0]["state"]
    assert not state and not {}  # an empty JSON object is falsy in both shapes


# -- random churn: a store fed through records equals one fed with dicts ---------------------------

_STATES = [case["pod"] for name in ("pod_states.json", "newer_api/pods.json") for case in load(name)["cases"]]


@st.composite
def pod_versions(draw, rv: int, name: str, owner: dict | None) -> dict:
    """A pod in one of the fixture states, renamed, owned or not, with random extra noise."""
    pod = copy.deepcopy(draw(st.sampled_from(_STATES)))
    meta = pod["metadata"]
    meta.update(name=name, namespace="default", uid=f"uid-{name}", resourceVersion=str(rv))
    meta.pop("ownerReferences", None)
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "controller": True,
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}]
    if draw(st.booleans()):
        meta["labels"] = {"app": draw(st.sampled_from(["web", "api"]))}
    if draw(st.booleans()):
        meta["deletionTimestamp"] = "2021-03-01T11:59:00Z"
    if draw(st.booleans()):
        meta["managedFields"] = [{"manager": "kubelet", "operation": "Update"}]
    if draw(st.booleans()):
        pod.setdefault("status", {})["unknownField"] = {"x": [draw(st.integers())]}
    if draw(st.booleans()):
        pod.setdefault("status", {})["podIP"] = None  # nulls read as absent, in both shapes
    return pod


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_trees_from_records_equal_trees_from_dicts_under_random_churn(data):
    objects = cluster()
    deployments, replicasets = objects["deployments"]["items"], objects["replicasets"]["items"]
    services, endpoints = objects["services"]["items"], objects["endpoints"]["items"]
    stores = {records: Store() for records in (True, False)}
    reflectors = {records: Reflector(None, POD, None, store, lambda kind: None, threading.Event())
                  for records, store in stores.items()}
    reflectors[False].apply_lines = _dict_path(reflectors[False])  # type: ignore[method-assign]
    names = [f"pod-{i}" for i in range(6)]
    for step in range(data.draw(st.integers(1, 25))):
        batch = []
        for _ in range(data.draw(st.integers(1, 4))):
            name = data.draw(st.sampled_from(names))
            kind = data.draw(st.sampled_from(["ADDED", "MODIFIED", "MODIFIED", "DELETED"]))
            owner = data.draw(st.sampled_from([None, *replicasets]))
            pod = data.draw(pod_versions(100 + step, name, owner))
            batch.append(json.dumps({"type": kind, "object": pod}).encode())
        for reflector in reflectors.values():
            reflector.apply_lines(batch)
        pods = {records: store.list("Pod") for records, store in stores.items()}
        assert all(isinstance(p, PodRecord) for p in pods[True])
        assert sorted(map(key, pods[True])) == sorted(map(key, pods[False]))
        assert (build_workload_tree(deployments, replicasets, pods[True], NOW)
                == build_workload_tree(deployments, replicasets, pods[False], NOW))
        assert (build_service_tree(services, pods[True], endpoints, NOW)
                == build_service_tree(services, pods[False], endpoints, NOW))
        for pod in pods[True]:
            assert full(pod) == stores[False].get("Pod", *key(pod))
        for rs in replicasets:
            uid = rs["metadata"]["uid"]
            assert (describe(rs, {"Pod": stores[True].owned_by("Pod", uid)}, NOW)
                    == describe(rs, {"Pod": stores[False].owned_by("Pod", uid)}, NOW))


def _dict_path(reflector: Reflector):
    """apply_lines as before records: json.loads + slim, every object a dict."""
    def apply_lines(lines):
        batch = []
        for line in lines:
            event = json.loads(line)
            batch.append((event["type"], slim(event["object"], POD, compact=True)))
        reflector.store.apply("Pod", batch)
    return apply_lines


def test_managed_fields_are_cut_from_the_kept_json():
    pod = copy.deepcopy(fixture_pods()[0])
    for position in ("first", "middle", "last"):
        meta = dict(pod["metadata"])
        meta.pop("managedFields", None)
        managed = [{"manager": "kubelet", "operation": "Update", "fieldsV1": {"f:status": {}}}]
        items = list(meta.items())
        at = {"first": 0, "middle": len(items) // 2, "last": len(items)}[position]
        items.insert(at, ("managedFields", managed))
        raw = json.dumps({**pod, "metadata": dict(items)}, separators=(",", ":")).encode()
        record = decode_record("Pod", raw)
        assert record is not None and b"managedFields" not in record.raw
        assert json.loads(record.raw)["metadata"] == {k: v for k, v in items if k != "managedFields"}
        assert "managedFields" not in record["metadata"] and record["metadata"].get("managedFields") is None
        assert full(record) == slim(json.loads(raw), POD)


def test_a_field_outside_the_schema_fails_loudly_in_tests(monkeypatch):
    import pytest

    from kdash.core import records

    record = record_of(fixture_pods()[0])
    with pytest.raises(records.OutsideSchema, match="hostname"):
        record["spec"].get("hostname")
    with pytest.raises(records.OutsideSchema):
        _ = "items" in record  # a method's name is no field either
    monkeypatch.setattr(records, "STRICT", False)
    assert record["spec"].get("hostname", "-") == "-"  # in use: absent, and a warning in the log
    assert full(record)["spec"].get("hostname") == fixture_pods()[0]["spec"].get("hostname")
