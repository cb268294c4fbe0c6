"""Endpoints read from discovery.k8s.io/v1 EndpointSlices where the server serves them, v1 Endpoints where not.

From 1.33 on, every request for v1 Endpoints is answered with a deprecation warning, and a Service
with more than 1000 endpoints is complete only in its slices. kdash keeps one shape for what it
shows (kdash/core/endpoints.py folds slices into a v1 Endpoints object), so the store, the
service tree, describe and port-forward read "Endpoints" whichever the server offers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, cast
from urllib.parse import quote

from kdash.core import objects as core_objects
from kdash.core.endpoints import SERVICE_NAME_LABEL, SLICE_API_VERSION, endpoints_from_slices, merge_slices, service_of
from kdash.core.kinds import ENDPOINTS, Kind
from kdash.core.objects import Obj
from kdash.errors import ApiException, KdashError
from kdash.kube.api import ApiClient
from kdash.kube.client import get_json
from kdash.kube.discovery import preferred
from kdash.kube.namespaces import list_objects
from kdash.kube.reflector import RECONNECTING, Reflector
from kdash.kube.store import DELETED, MODIFIED, Store

# The store keeps them as "Endpoints" (what every reader asks for); requests go to endpointslices.
ENDPOINTS_FROM_SLICES = Kind(ENDPOINTS.name, "endpointslices", SLICE_API_VERSION)


def slices_served(api_client: ApiClient) -> bool:
    """The server serves discovery.k8s.io/v1 EndpointSlices (1.21+); cached per client by discovery."""
    return preferred(api_client, "EndpointSlice", (SLICE_API_VERSION,)) is not None


def endpoints_source(api_client: ApiClient) -> Kind:
    """The kind to request for Endpoints on this server."""
    return ENDPOINTS_FROM_SLICES if slices_served(api_client) else ENDPOINTS


def list_endpoints(api_client: ApiClient, namespace: str | None,
                   transform: Callable[[Obj], Obj] | None = None) -> list[Any]:
    """Every Service's Endpoints in `namespace` (None = all, "a,b" = a subset), from slices if served."""
    kind = endpoints_source(api_client)
    items, _ = list_objects(api_client, kind, namespace, transform=transform)
    return endpoints_from_slices(items) if kind is ENDPOINTS_FROM_SLICES else items


def read_endpoints(api_client: ApiClient, namespace: str, service: str) -> dict[str, Any]:
    """One Service's Endpoints ({} when it has none), from its slices if served."""
    if not slices_served(api_client):
        try:
            return get_json(api_client, ENDPOINTS.object_path(namespace, service))
        except ApiException as exc:
            if exc.status == 404:
                return {}
            raise
    selector = quote(f"{SERVICE_NAME_LABEL}={service}")
    items = get_json(api_client, f"{ENDPOINTS_FROM_SLICES.list_path(namespace)}?labelSelector={selector}"
                     ).get("items") or []
    return merge_slices(namespace, service, items) if items else {}


class SliceMerger:
    """Stands in for the Store to a reflector of EndpointSlices: keeps the slices it is given and
    writes one Endpoints-shaped object per Service into the real store (what every reader uses).

    Everything else (sync states, ...) goes to the store unchanged.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._slices: dict[tuple[str, str], dict[str, Obj]] = {}
        self._lock = threading.Lock()

    def replace(self, kind: str, namespace_scope: str | None, objects: Iterable[Obj], *,
                stop: threading.Event | None = None) -> bool:
        slices: dict[tuple[str, str], dict[str, Obj]] = {}
        for obj in objects:
            owner = service_of(obj)
            if owner is not None:
                slices.setdefault(owner, {})[core_objects.name(obj)] = obj
        with self._lock:
            self._slices = slices  # a reflector lists its whole scope
            merged = [merge_slices(ns, name, group.values()) for (ns, name), group in slices.items()]
        return self.store.replace(kind, namespace_scope, merged, stop=stop)

    def apply(self, kind: str, events: Iterable[tuple[str, Obj]], *, stop: threading.Event | None = None) -> bool:
        batch: list[tuple[str, Obj]] = []
        with self._lock:
            touched: dict[tuple[str, str], None] = {}
            for event_type, obj in events:
                owner = service_of(obj)
                if owner is None:
                    continue
                group = self._slices.setdefault(owner, {})
                if event_type == DELETED:
                    group.pop(core_objects.name(obj), None)
                else:
                    group[core_objects.name(obj)] = obj
                touched[owner] = None
            for owner in touched:
                group = self._slices.get(owner) or {}
                if group:
                    batch.append((MODIFIED, merge_slices(*owner, group.values())))
                else:
                    self._slices.pop(owner, None)
                    batch.append((DELETED, {"metadata": {"namespace": owner[0], "name": owner[1]}}))
        return bool(batch) and self.store.apply(kind, batch, stop=stop)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class EndpointsReflector(Reflector):
    """The Endpoints reflector: EndpointSlices where the server serves discovery.k8s.io/v1, else
    v1 Endpoints. Discovery is asked on the reflector's thread (never the UI's). Where slices are
    forbidden by RBAC but Endpoints are not (a Role written before slices existed), Endpoints."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_store = self.store
        self._chosen = False

    def _run(self) -> None:
        self._choose_source()
        super()._run()

    def _choose_source(self) -> None:
        while not self.stopped and not self._chosen:
            self._await_path()
            try:
                if slices_served(self.api_client):
                    self.kind = ENDPOINTS_FROM_SLICES
                    # The reflector only calls the Store methods SliceMerger has or forwards.
                    self.store = cast(Store, SliceMerger(self._plain_store))
                self._chosen = True
            except KdashError as exc:
                self._on_failure(exc, RECONNECTING)

    def _on_api_error(self, exc: ApiException) -> None:
        if exc.status == 403 and self.kind is ENDPOINTS_FROM_SLICES:
            self.kind, self.store = ENDPOINTS, self._plain_store
            self.resource_version = None
            return
        super()._on_api_error(exc)
