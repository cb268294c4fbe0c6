"""A Service's endpoints from discovery.k8s.io/v1 EndpointSlices, in the shape of a v1 Endpoints object.

Servers from 1.33 on deprecate v1 Endpoints (every request for them carries a warning) and a
Service with more than 1000 endpoints is only complete in its slices. Everything kdash shows of a
Service's endpoints (the service tree, describe, port-forward's choice of pod) reads the v1
Endpoints shape, so slices are folded into that shape the way the endpoints controller builds it:

- a slice belongs to the Service named by its `kubernetes.io/service-name` label;
- an endpoint whose `conditions.ready` is true or absent (the API says: absent means ready) is in
  `addresses`; one that is not ready is in `notReadyAddresses`, unless it is terminating: the
  endpoints controller leaves terminating pods out of Endpoints altogether;
- endpoints with the same ports form one subset, addresses sorted by IP (as the controller repacks);
- a dual-stack Service has a slice per address family; Endpoints carry one family (the Service's
  primary), so only IPv4 is used when both are there, else the one family there is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Dict = dict[str, Any]  # what this module builds (Obj is read-only)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
SLICE_API_VERSION = "discovery.k8s.io/v1"
FAMILIES = ("IPv4", "IPv6")  # FQDN slices carry no pod addresses


def service_of(endpoint_slice: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, Service name) a slice belongs to, None for a slice of no Service."""
    meta = endpoint_slice.get("metadata") or {}
    name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return (meta.get("namespace") or "", name) if name else None


def endpoints_from_slices(slices: Iterable[Mapping[str, Any]]) -> list[Dict]:
    """One Endpoints-shaped object per Service that has slices among `slices`."""
    by_service: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for endpoint_slice in slices:
        owner = service_of(endpoint_slice)
        if owner is not None:
            by_service.setdefault(owner, []).append(endpoint_slice)
    return [merge_slices(namespace, name, group) for (namespace, name), group in sorted(by_service.items())]


def merge_slices(namespace: str, name: str, slices: Iterable[Mapping[str, Any]]) -> Dict:
    """The Endpoints object the endpoints controller would write for these slices of one Service."""
    slices = sorted(slices, key=lambda s: (s.get("metadata") or {}).get("name") or "")
    families = {s.get("addressType") for s in slices}
    family = next((f for f in FAMILIES if f in families), None)
    subsets: dict[tuple, dict[str, list[Dict]]] = {}
    ports_of: dict[tuple, list[Dict]] = {}
    for endpoint_slice in slices:
        if endpoint_slice.get("addressType") != family:
            continue
        ports = [_port(p) for p in endpoint_slice.get("ports") or ()]
        ports_key = tuple(sorted((p.get("name", ""), p.get("port"), p.get("protocol")) for p in ports))
        ports_of.setdefault(ports_key, ports)
        subset = subsets.setdefault(ports_key, {"addresses": [], "notReadyAddresses": []})
        for endpoint in endpoint_slice.get("endpoints") or ():
            bucket = _bucket(endpoint)
            if bucket is not None:
                subset[bucket].extend(_addresses(endpoint))
    out_subsets = []
    for ports_key, subset in sorted(subsets.items(), key=lambda item: str(item[0])):
        entry: Dict = {}
        for field_name in ("addresses", "notReadyAddresses"):
            if subset[field_name]:
                entry[field_name] = sorted(subset[field_name], key=lambda a: a["ip"])
        if not entry:
            continue  # the controller writes no subset without addresses
        if ports_of[ports_key]:
            entry["ports"] = ports_of[ports_key]
        out_subsets.append(entry)
    metas = [s.get("metadata") or {} for s in slices]
    created = sorted(m["creationTimestamp"] for m in metas if m.get("creationTimestamp"))
    metadata: Dict = {
        "name": name,
        "namespace": namespace,
        # Changes whenever any slice changes, so a store keyed on resourceVersion sees every update.
        "resourceVersion": ",".join(str(m.get("resourceVersion") or "") for m in metas),
        "labels": {k: v for k, v in ((metas[0].get("labels") or {}) if metas else {}).items()
                   if not k.startswith(("endpointslice.kubernetes.io/", SERVICE_NAME_LABEL))},
    }
    if created:
        metadata["creationTimestamp"] = created[0]
    out: Dict = {"apiVersion": "v1", "kind": "Endpoints", "metadata": metadata}
    if out_subsets:
        out["subsets"] = out_subsets
    return out


def _bucket(endpoint: Mapping[str, Any]) -> str | None:
    conditions = endpoint.get("conditions") or {}
    if conditions.get("ready") is not False:
        return "addresses"
    if conditions.get("terminating"):
        return None
    return "notReadyAddresses"


def _addresses(endpoint: Mapping[str, Any]) -> list[Dict]:
    out = []
    for ip in (endpoint.get("addresses") or ())[:1]:  # all addresses of one endpoint are one pod
        address: Dict = {"ip": ip}
        if endpoint.get("hostname"):
            address["hostname"] = endpoint["hostname"]
        if endpoint.get("nodeName"):
            address["nodeName"] = endpoint["nodeName"]
        if endpoint.get("targetRef"):
            address["targetRef"] = dict(endpoint["targetRef"])
        out.append(address)
    return out


def _port(port: Mapping[str, Any]) -> Dict:
    out: Dict = {}
    if port.get("name"):
        out["name"] = port["name"]
    if port.get("port") is not None:
        out["port"] = port["port"]
    out["protocol"] = port.get("protocol") or "TCP"
    if port.get("appProtocol"):
        out["appProtocol"] = port["appProtocol"]
    return out
