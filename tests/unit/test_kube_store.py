"""Store: replace diffs, owner/uid indexes, versions, stop guards and thread safety."""

from __future__ import annotations

import threading

from kdash.kube.store import DELETED, MODIFIED, Store, SyncState, summarize_states


def obj(name: str, ns: str = "default", rv: str = "1", uid: str | None = None,
        owner: str | None = None, labels: dict[str, str] | None = None) -> dict:
    metadata: dict = {"name": name, "namespace": ns, "resourceVersion": rv,
                      "uid": uid or f"uid-{ns}-{name}"}
    if owner:
        metadata["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "not-controller"},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": owner,
             "controller": True},
        ]
    if labels:
        metadata["labels"] = labels
    return {"metadata": metadata}


def names(objects: list[dict]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objects)


def test_replace_removes_objects_gone_since_the_last_list():
    store = Store()
    store.replace("Pod", "default", [obj("a"), obj("b"), obj("c")])
    store.replace("Pod", "default", [obj("a"), obj("c", rv="2")])
    assert names(store.list("Pod")) == ["a", "c"]
    assert store.get("Pod", "default", "b") is None
    assert store.by_uid("uid-default-b") is None
    assert store.get("Pod", "default", "c")["metadata"]["resourceVersion"] == "2"


def test_replace_only_touches_its_namespace_scope():
    store = Store()
    store.replace("Pod", None, [obj("a", "one"), obj("b", "two")])
    store.replace("Pod", "one", [obj("x", "one")])
    assert sorted(store.keys("Pod")) == [("one", "x"), ("two", "b")]
    store.replace("Pod", None, [])
    assert store.list("Pod") == []


def test_replace_with_identical_objects_changes_nothing():
    store = Store()
    assert store.replace("Pod", "default", [obj("a"), obj("b")]) is True
    version = store.version("Pod")
    assert store.replace("Pod", "default", [obj("a"), obj("b")]) is False
    assert store.version("Pod") == version


def test_owner_index_follows_the_controller_reference_only():
    store = Store()
    store.apply("Pod", [(MODIFIED, obj("p1", owner="rs-1")), (MODIFIED, obj("p2", owner="rs-1")),
                        (MODIFIED, obj("p3", owner="rs-2")), (MODIFIED, obj("p4"))])
    assert names(store.owned_by("Pod", "rs-1")) == ["p1", "p2"]
    assert store.owned_by("Pod", "not-controller") == []
    # Adopted by another owner: the index moves with the object.
    store.upsert("Pod", obj("p1", rv="2", owner="rs-2"))
    assert names(store.owned_by("Pod", "rs-1")) == ["p2"]
    assert names(store.owned_by("Pod", "rs-2")) == ["p1", "p3"]
    store.delete("Pod", obj("p2"))
    assert store.owned_by("Pod", "rs-1") == []
    assert store.owned_by("ReplicaSet", "rs-2") == []


def test_uid_index_handles_recreation_under_the_same_name():
    store = Store()
    store.upsert("ConfigMap", obj("cm", uid="first"))
    store.upsert("ConfigMap", obj("cm", rv="9", uid="second"))
    assert store.by_uid("first") is None
    assert store.by_uid("second")["metadata"]["resourceVersion"] == "9"
    assert store.kind_of_uid("second") == "ConfigMap"


def test_delete_uses_only_the_key_of_the_final_state():
    store = Store()
    store.upsert("Pod", obj("a", rv="5"))
    assert store.apply("Pod", [(DELETED, obj("a", rv="6"))]) is True
    assert store.list("Pod") == []
    assert store.delete("Pod", obj("a")) is False


def test_versions_grow_per_kind_and_globally():
    store = Store()
    assert store.version() == 0 and store.version("Pod") == 0
    store.upsert("Pod", obj("a"))
    pods_v1 = store.version("Pod")
    store.upsert("Service", obj("s"))
    assert store.version("Pod") == pods_v1
    assert store.version("Service") > pods_v1
    assert store.version() == store.version("Service")
    store.upsert("Pod", obj("a", rv="2"))
    assert store.version("Pod") > store.version("Service")
    assert store.versions() == {"Pod": store.version("Pod"), "Service": store.version("Service")}


def test_writes_are_refused_once_the_stop_event_is_set():
    store = Store()
    stop = threading.Event()
    store.upsert("Pod", obj("a"), stop=stop)
    stop.set()
    assert store.upsert("Pod", obj("b"), stop=stop) is False
    assert store.replace("Pod", None, [], stop=stop) is False
    store.set_state("Pod", "default", "live", stop=stop)
    assert names(store.list("Pod")) == ["a"]
    assert store.state("Pod", "default") is None


def test_clear_one_kind_or_everything():
    store = Store()
    store.upsert("Pod", obj("a", owner="rs"))
    store.upsert("Namespace", {"metadata": {"name": "default", "uid": "ns-uid",
                                            "resourceVersion": "1"}})
    store.set_state("Pod", "default", "live")
    before = store.version("Pod")
    store.clear("Pod")
    assert store.list("Pod") == [] and store.owned_by("Pod", "rs") == []
    assert store.version("Pod") > before
    assert store.state("Pod", "default") is None
    assert store.get("Namespace", None, "default")["metadata"]["uid"] == "ns-uid"
    store.clear()
    assert store.by_uid("ns-uid") is None


def test_matching_is_an_equality_selector_within_one_namespace():
    store = Store()
    store.apply("Pod", [
        (MODIFIED, obj("web-1", labels={"app": "web", "tier": "fe"})),
        (MODIFIED, obj("web-2", labels={"app": "web"})),
        (MODIFIED, obj("web-other-ns", ns="other", labels={"app": "web", "tier": "fe"})),
    ])
    assert names(store.matching("Pod", "default", {"app": "web"})) == ["web-1", "web-2"]
    assert names(store.matching("Pod", "default", {"app": "web", "tier": "fe"})) == ["web-1"]
    assert store.matching("Pod", "default", {}) == []


def test_reads_return_copies_that_writers_do_not_disturb():
    store = Store()
    store.replace("Pod", None, [obj(f"p{i}") for i in range(10)])
    listed = store.list("Pod")
    store.replace("Pod", None, [])
    assert len(listed) == 10


def test_concurrent_writers_and_readers_stay_consistent():
    store = Store()
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(prefix: str) -> None:
        try:
            for i in range(300):
                store.upsert("Pod", obj(f"{prefix}-{i}", rv=str(i), owner=prefix))
                if i % 3 == 0:
                    store.delete("Pod", obj(f"{prefix}-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            while not stop.is_set():
                for pod in store.list("Pod"):
                    assert pod["metadata"]["name"]
                store.owned_by("Pod", "w0")
                store.version("Pod")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert store.count("Pod") == 4 * 200
    for n in range(4):
        assert len(store.owned_by("Pod", f"w{n}")) == 200


def test_summarize_states_for_the_header():
    assert summarize_states({}) == "starting"
    live = {("Pod", "a"): SyncState("live"), ("Service", "a"): SyncState("live")}
    assert summarize_states(live) == "live"
    assert summarize_states({**live, ("Event", "a"): SyncState("reconnecting")}) == "reconnecting"
    forbidden = {**live, ("Service", "a"): SyncState("forbidden", "Forbidden: no"),
                 ("Pod", "a"): SyncState("forbidden")}
    assert summarize_states(forbidden) == "forbidden: pods, services"


class _Held(dict):
    """A stored object a weak reference can follow."""


def test_drop_frees_the_objects_of_a_store_that_is_still_held():
    import weakref

    store = Store()
    store.upsert("Pod", _Held(obj("a", uid="u-a")))
    store.set_state("Pod", None, "live")
    pod = weakref.ref(store.get("Pod", "default", "a"))
    holder = [store]  # e.g. a retiring reflector that has not stopped yet
    version = store.version("Pod")
    store.drop()
    assert pod() is None  # freed by reference counting, not by waiting for the store to go
    assert store.list("Pod") == [] and store.states() == {} and store.version("Pod") > version
    assert holder[0] is store
