"""Frozen objects (core.frozen): the same JSON, read the same way, shown the same, never walked by the GC."""

from __future__ import annotations

import gc
import json
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from render_fixtures import NOW, cluster, load

from kdash.core.frozen import FrozenMap, freeze, is_frozen, thaw
from kdash.core.objects import full, key
from kdash.core.rollout import rollout_status
from kdash.core.values import parse_time
from kdash.kube.store import Store
from kdash.render.configmaps import build_configmap_tree
from kdash.render.daemonsets import build_daemonset_tree
from kdash.render.details import describe
from kdash.render.hpa import hpa_index
from kdash.render.ingresses import build_ingress_tree
from kdash.render.jobs import build_jobs_tree
from kdash.render.services import build_service_tree
from kdash.render.statefulsets import build_statefulset_tree
from kdash.render.tree import flatten, label_at
from kdash.render.workloads import build_workload_tree

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80)


def _json(leaves: int):
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=leaves)


json_values = _json(40)


def _walk(value: Any):
    yield value
    children = value.vals if isinstance(value, FrozenMap) else value if isinstance(value, tuple) else ()
    for child in children:
        yield from _walk(child)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_a_frozen_object_reads_and_compares_as_its_json(obj):
    frozen = freeze(obj)
    assert thaw(frozen) == obj and json.loads(json.dumps(thaw(frozen))) == json.loads(json.dumps(obj))
    assert frozen == obj and obj == frozen
    assert not (frozen != obj)  # noqa: SIM202 - __ne__ is ours too
    assert isinstance(frozen, Mapping) and is_frozen(frozen)
    assert list(frozen) == list(obj) and list(frozen.keys()) == list(obj) and len(frozen) == len(obj)
    assert bool(frozen) == bool(obj)
    for k, v in obj.items():
        assert k in frozen and frozen.get(k) == freeze(v) and frozen[k] == freeze(v)
    assert frozen.get("\x00absent", 5) == 5 and "\x00absent" not in frozen
    assert dict(frozen.items()).keys() == obj.keys()
    if obj:
        changed = dict(obj)
        first = next(iter(changed))
        changed[first] = ["something", "else"]
        if changed[first] != obj[first]:
            assert frozen != changed


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8), _json(5), max_size=6), max_size=10))
def test_nothing_in_a_frozen_object_is_left_for_the_collector_to_walk(objs):
    frozen = [freeze(o) for o in objs]
    for _ in range(5):  # an array right inside an array may need a collection per level (≤ 5)
        gc.collect()
    assert [type(x).__name__ for f in frozen for x in _walk(f) if gc.is_tracked(x)] == []


def test_api_objects_are_out_of_the_walk_after_one_young_collection():
    """API objects hold no array right inside an array: an array of objects is untracked by the
    first young collection that sees it, whatever order the collector finds them in."""
    objects = cluster()
    frozen = [freeze(o) for kind in objects.values() if isinstance(kind, dict) for o in kind["items"]]
    frozen += [freeze(o) for name in ("statefulsets.json", "daemonsets.json")
               for kind in load(name).values() if isinstance(kind, dict) for o in kind["items"]]
    gc.collect(0)
    assert len(frozen) > 50
    assert [type(x).__name__ for f in frozen for x in _walk(f) if gc.is_tracked(x)] == []


def test_the_store_keeps_dicts_frozen_and_hands_back_what_it_was_given():
    deployment = cluster()["deployments"]["items"][0]
    store = Store()
    store.upsert("Deployment", deployment)
    kept = store.get("Deployment", *key(deployment))
    assert is_frozen(kept) and kept == deployment and full(kept) == deployment
    assert full(kept) is not deployment  # a copy: the caller may change it for a write


# -- every renderer shows the same from frozen objects as from dicts ------------------------------

def _same_tree(build, *lists, now=NOW):
    plain = build(*lists)
    frozen = build(*[None if x is None else [freeze(o) for o in x] for x in lists])
    assert plain == frozen
    assert [label_at(n, now) for _, n in flatten(frozen)] == [label_at(n, now) for _, n in flatten(plain)]
    return plain


def test_workload_service_and_configmap_trees_and_rollout_statuses():
    objects = cluster()
    deployments, replicasets, pods = (objects[k]["items"] for k in ("deployments", "replicasets", "pods"))
    services, endpoints = objects["services"]["items"], objects["endpoints"]["items"]
    assert _same_tree(lambda d, r, p: build_workload_tree(d, r, p, NOW), deployments, replicasets, pods)
    assert _same_tree(lambda s, p, e: build_service_tree(s, p, e, NOW), services, pods, endpoints)
    assert _same_tree(lambda c, d: build_configmap_tree(c, d, NOW), objects["configmaps"]["items"], deployments)
    for deployment in deployments:
        assert (rollout_status(freeze(deployment), [freeze(r) for r in replicasets])
                == rollout_status(deployment, replicasets))


def test_statefulset_daemonset_job_and_ingress_trees():
    sts = load("statefulsets.json")
    now = parse_time(sts["now"])
    assert _same_tree(lambda s, p, c, r: build_statefulset_tree(s, p, c, r, now),
                      *(sts[k]["items"] for k in ("statefulsets", "pods", "persistentvolumeclaims",
                                                 "controllerrevisions")), now=now)
    ds = load("daemonsets.json")
    now = parse_time(ds["now"])
    assert _same_tree(lambda d, p, n, r: build_daemonset_tree(d, p, n, r, now),
                      *(ds[k]["items"] for k in ("daemonsets", "pods", "nodes", "controllerrevisions")), now=now)
    jobs = load("jobs.json")
    now = parse_time(jobs["now"])
    assert _same_tree(lambda c, j, p: build_jobs_tree(c, j, p, now),
                      jobs["cronjobs"], [c["job"] for c in jobs["jobs"]], jobs["pods"], now=now)
    ing = load("ingresses.json")
    now = parse_time(ing["now"])
    assert _same_tree(lambda i, s, p, e: build_ingress_tree(i, s, p, e, now),
                      ing["items"], ing["services"], ing["pods"], ing["endpoints"], now=now)


def test_hpa_index_and_describe():
    hpas = [c["hpa"] for c in load("hpa.json")["cases"]]
    assert hpa_index([freeze(h) for h in hpas]) == hpa_index(hpas)
    objects = cluster()
    for kind in ("deployments", "replicasets", "services", "configmaps", "events"):
        for obj in objects[kind]["items"]:
            assert describe(full(freeze(obj)), None, NOW) == describe(obj, None, NOW)


def test_copies_are_plain_data_to_change():
    import copy

    deployment = cluster()["deployments"]["items"][0]
    frozen = freeze(deployment)
    deep = copy.deepcopy(frozen)
    assert deep == deployment and type(deep) is dict and type(deep["spec"]["template"]["spec"]["containers"]) is list
    deep["metadata"]["labels"]["x"] = "y"  # no error: it is the caller's own
    assert "x" not in frozen["metadata"]["labels"]
    shallow = copy.copy(frozen)
    assert type(shallow) is dict and shallow == deployment


# -- random churn: a store of frozen objects shows what the same objects as dicts show ------------

@st.composite
def _versions(draw, originals: list[dict], rv: int) -> tuple[str, dict]:
    import copy

    obj = copy.deepcopy(draw(st.sampled_from(originals)))
    meta = obj["metadata"]
    meta["resourceVersion"] = str(rv)
    if draw(st.booleans()):
        obj.setdefault("spec", {})["replicas"] = draw(st.integers(0, 5))
    if draw(st.booleans()):
        obj.setdefault("status", {})["readyReplicas"] = draw(st.integers(0, 5))
    if draw(st.booleans()):
        meta.setdefault("labels", {})["churn"] = draw(st.sampled_from(["a", "b"]))
    if draw(st.booleans()):
        obj.setdefault("status", {})["conditions"] = [
            {"type": "Progressing", "status": draw(st.sampled_from(["True", "False"])),
             "reason": draw(st.sampled_from(["NewReplicaSetAvailable", "ProgressDeadlineExceeded"]))}]
    return draw(st.sampled_from(["MODIFIED", "MODIFIED", "DELETED"])), obj


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_trees_from_the_frozen_store_equal_trees_from_dicts_under_random_churn(data):
    objects = cluster()
    originals = {"Deployment": objects["deployments"]["items"], "ReplicaSet": objects["replicasets"]["items"]}
    pods = objects["pods"]["items"]
    store = Store()
    model: dict[str, dict[tuple[str, str], dict]] = {kind: {} for kind in originals}
    for kind, items in originals.items():
        store.replace(kind, None, items)
        model[kind] = {key(o): o for o in items}
    for step in range(data.draw(st.integers(1, 20))):
        kind = data.draw(st.sampled_from(sorted(originals)))
        event, obj = data.draw(_versions(originals[kind], 1000 + step))
        store.apply(kind, [(event, obj)])
        if event == "DELETED":
            model[kind].pop(key(obj), None)
        else:
            model[kind][key(obj)] = obj
        frozen = {kind: store.list(kind) for kind in originals}
        plain = {kind: list(model[kind].values()) for kind in originals}
        assert all(is_frozen(o) for objs in frozen.values() for o in objs)
        assert (build_workload_tree(frozen["Deployment"], frozen["ReplicaSet"], pods, NOW)
                == build_workload_tree(plain["Deployment"], plain["ReplicaSet"], pods, NOW))
        for deployment in frozen["Deployment"]:
            assert full(deployment) == model["Deployment"][key(deployment)]
            assert (rollout_status(deployment, frozen["ReplicaSet"])
                    == rollout_status(model["Deployment"][key(deployment)], plain["ReplicaSet"]))
