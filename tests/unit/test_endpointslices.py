"""Endpoints from discovery.k8s.io/v1 EndpointSlices where a (fake) server serves them, v1 Endpoints where
not: the Watcher's Endpoints reflector, `kdash tree`'s list and port-forward's read."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pytest

from kdash.core.endpoints import endpoints_from_slices
from kdash.core.kinds import ENDPOINTS
from kdash.core.objects import full
from kdash.kube.endpointslices import (
    ENDPOINTS_FROM_SLICES,
    EndpointsReflector,
    SliceMerger,
    list_endpoints,
    read_endpoints,
)
from kdash.kube.objects import slim
from kdash.kube.store import Store
from kdash.kube.watcher import Watcher
from tests.unit.test_kube_reflector import FakeApi, connect, wait_for, write_kubeconfig

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "newer_api" / "endpointslices.json").read_text())
GROUP = "/apis/discovery.k8s.io/v1"


class SliceApi(FakeApi):
    """FakeApi that also serves discovery.k8s.io/v1 (when `serves_slices`), with real object bodies."""

    def __init__(self, serves_slices: bool) -> None:
        super().__init__()
        self.serves_slices = serves_slices
        self.forbidden: set[str] = set()
        self.paths: list[str] = []

    def handle(self, handler) -> None:
        path = handler.path.split("?")[0]
        with self.lock:
            self.paths.append(path)
        if path == GROUP:
            if not self.serves_slices:
                return self.reply(handler, 404, {"kind": "Status", "code": 404, "reason": "NotFound"})
            return self.reply(handler, 200, {"kind": "APIResourceList", "groupVersion": "discovery.k8s.io/v1",
                                             "resources": [{"name": "endpointslices", "kind": "EndpointSlice",
                                                            "namespaced": True, "verbs": ["list", "watch"]}]})
        plural = path.rstrip("/").split("/")[-1]
        if plural in self.forbidden:
            return self.reply(handler, 403, {"kind": "Status", "code": 403, "reason": "Forbidden",
                                             "message": f"{plural} is forbidden"})
        if path.startswith(GROUP):
            if not self.serves_slices:
                return self.reply(handler, 404, {"kind": "Status", "code": 404, "reason": "NotFound"})
            handler.path = "/api/v1" + handler.path[len(GROUP):]  # same collections, core-shaped path
        parts = handler.path.split("?")[0].strip("/").split("/")
        if len(parts) == 6:  # api v1 namespaces ns plural name: one object
            with self.lock:
                obj = self.objects.get(parts[4], {}).get((parts[3], parts[5]))
            if obj is None:
                return self.reply(handler, 404, {"kind": "Status", "code": 404, "reason": "NotFound"})
            return self.reply(handler, 200, obj)
        return super().handle(handler)

    def list(self, handler, plural: str, namespace: str | None, query: dict[str, str]) -> None:
        selector = query.get("labelSelector")
        if not selector:
            return super().list(handler, plural, namespace, query)
        key, value = selector.split("=")  # the one form kdash sends: a Service's slices
        with self.lock:
            items = [o for (ns, _), o in sorted(self.objects.get(plural, {}).items())
                     if ns == namespace and o["metadata"].get("labels", {}).get(key) == value]
        self.reply(handler, 200, {"kind": "List", "metadata": {"resourceVersion": str(self.rv)}, "items": items})

    def put_object(self, plural: str, obj: dict, event: str | None = None) -> dict:
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        with self.lock:
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            items = self.objects.setdefault(plural, {})
            kind = event or ("MODIFIED" if (meta["namespace"], meta["name"]) in items else "ADDED")
            if kind == "DELETED":
                items.pop((meta["namespace"], meta["name"]), None)
            else:
                items[(meta["namespace"], meta["name"])] = obj
        self.emit(plural, meta["namespace"], {"type": kind, "object": obj})
        return obj


@pytest.fixture(params=[True, False], ids=["slices-served", "endpoints-only"])
def api(request):
    fake = SliceApi(serves_slices=request.param)
    for item in FIXTURE["endpointslices"]:
        fake.put_object("endpointslices", item)
    for item in FIXTURE["endpoints"]:
        fake.put_object("endpoints", item)
    yield fake
    fake.close()


@pytest.fixture
def connection(api, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    conn = connect(write_kubeconfig(tmp_path / "kubeconfig", api.url), None)
    yield conn
    conn.close()


def subsets(store: Store) -> dict[str, list]:
    return {e["metadata"]["name"]: full(e).get("subsets") for e in store.list("Endpoints")}


def expected_subsets() -> dict[str, list]:
    return {e["metadata"]["name"]: e["subsets"] for e in FIXTURE["endpoints"]}


def asked_for_endpoints(api: SliceApi) -> bool:
    return any(p.endswith("/endpoints") or "/endpoints/" in p for p in api.paths)


def test_the_watcher_reads_slices_where_served_and_endpoints_where_not(api, connection):
    store = Store()
    watcher = Watcher(connection, "shop", kinds=[ENDPOINTS], store=store, probe_interval=None).start()
    try:
        wait_for(lambda: subsets(store) == expected_subsets(), message="the Services' endpoints")
        # The list fills the store before the watch opens: wait for the watch, don't race it.
        wait_for(lambda: api.watching("endpointslices" if api.serves_slices else "endpoints"),
                 message="the watch of what is served")
        # Either way the store holds the same thing; with slices, v1 Endpoints are never requested
        # (from 1.33 every such request is answered with a deprecation warning).
        assert asked_for_endpoints(api) is not api.serves_slices
        (reflector,) = watcher.reflectors
        assert reflector.kind is (ENDPOINTS_FROM_SLICES if api.serves_slices else ENDPOINTS)
        assert store.state("Endpoints", "shop").state == "live"

        # A pod turns not ready in one slice (or in the Endpoints): the merged object follows.
        if api.serves_slices:
            web = copy.deepcopy(next(s for s in FIXTURE["endpointslices"] if s["metadata"]["name"] == "web-x7k2p"))
            web["endpoints"][0]["conditions"] = {"ready": False, "serving": False, "terminating": False}
            api.put_object("endpointslices", web)
        else:
            web = copy.deepcopy(FIXTURE["endpoints"][0])
            moved = next(a for a in web["subsets"][0]["addresses"] if a["ip"] == "10.244.3.17")
            web["subsets"][0]["addresses"].remove(moved)
            web["subsets"][0]["notReadyAddresses"].insert(0, moved)
            api.put_object("endpoints", web)

        def not_ready_ips() -> list[str]:
            web = store.get("Endpoints", "shop", "web") or {}
            return sorted(a["ip"] for s in web.get("subsets") or () for a in s.get("notReadyAddresses") or ())

        wait_for(lambda: not_ready_ips() == ["10.244.2.4", "10.244.3.17"], message="the update")

        # The Service goes away: all its slices (or its Endpoints) are deleted, and so is the object.
        if api.serves_slices:
            for item in FIXTURE["endpointslices"]:
                if item["metadata"]["labels"].get("kubernetes.io/service-name") == "api":
                    api.put_object("endpointslices", item, event="DELETED")
        else:
            api.put_object("endpoints", FIXTURE["endpoints"][1], event="DELETED")
        wait_for(lambda: store.get("Endpoints", "shop", "api") is None, message="the deletion")
        assert store.get("Endpoints", "shop", "web") is not None
    finally:
        watcher.stop()


def test_forbidden_slices_fall_back_to_endpoints(api, connection):
    if not api.serves_slices:
        pytest.skip("only a server that serves slices can forbid them")
    api.forbidden.add("endpointslices")  # a Role from before slices existed: endpoints only
    store = Store()
    reflector = EndpointsReflector(connection.api_client, ENDPOINTS, "shop", store, lambda _k: None,
                                   threading.Event())
    reflector.start()
    try:
        wait_for(lambda: subsets(store) == expected_subsets(), message="Endpoints after the 403")
        assert reflector.kind is ENDPOINTS
        assert store.state("Endpoints", "shop").state == "live"
    finally:
        reflector.stop()
        reflector.join(2)


def test_kdash_tree_and_port_forward_read_the_same_endpoints(api, connection):
    listed = {e["metadata"]["name"]: e.get("subsets") for e in list_endpoints(connection.api_client, "shop", slim)}
    assert listed == expected_subsets()
    web = read_endpoints(connection.api_client, "shop", "web")
    assert web["subsets"] == expected_subsets()["web"]
    if api.serves_slices:
        assert not asked_for_endpoints(api)


def test_slice_merger_replaces_applies_and_forwards_the_rest() -> None:
    store = Store()
    merger = SliceMerger(store)
    slices = FIXTURE["endpointslices"]
    assert merger.replace("Endpoints", "shop", slices)
    assert subsets(store) == expected_subsets()
    assert not merger.replace("Endpoints", "shop", slices)  # the same revisions: nothing changed
    # An event for a slice of no Service changes nothing.
    orphan = next(s for s in slices if "kubernetes.io/service-name" not in s["metadata"]["labels"])
    assert not merger.apply("Endpoints", [("MODIFIED", orphan)])
    # A relist without the api slices drops the api Endpoints (no ghosts).
    web_only = [s for s in slices if s["metadata"]["labels"].get("kubernetes.io/service-name") == "web"]
    assert merger.replace("Endpoints", "shop", web_only)
    assert set(subsets(store)) == {"web"}
    assert store.list("Endpoints") == endpoints_from_slices(web_only)
    merger.set_state("Endpoints", "shop", "live")  # everything else goes to the store
    assert store.state("Endpoints", "shop").state == "live"
