"""The service tree (Service → selected Pods) and what Endpoints say of each pod."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from kdash.core import objects
from kdash.core.labels import matches_selector
from kdash.core.objects import Obj
from kdash.core.pods import Health
from kdash.render.format import NONE, age, labels_text, ports_text
from kdash.render.tree import (
    Node,
    display_name,
    group_by_ns,
    namespace_node,
    node_key,
    pod_node,
    sorted_by_name,
    sorted_by_ns_name,
)


def build_service_tree(services: Iterable[Obj], pods: Iterable[Obj], endpoints: Iterable[Obj],
                       now: datetime, *, by_namespace: bool = False) -> list[Node]:
    """Services → the Pods their selector picks, each with its state in the Endpoints object.

    A pod's `endpoint` column is "ready" (in `addresses`), "not ready" (in
    `notReadyAddresses`), "not in endpoints" (selected but listed nowhere, e.g. no IP yet) or
    "no endpoints" (the Service has no Endpoints object at all).
    """
    services, pods = list(services), list(pods)
    endpoints_by_name = {objects.key(e): e for e in endpoints}
    # Index pods by (namespace, label, value) so each Service only scans pods sharing one of
    # its selector pairs instead of the whole namespace.
    pods_by_label: dict[tuple[str, str, str], list[Obj]] = {}
    for pod in pods:
        for label_key, value in (objects.meta(pod).get("labels") or {}).items():
            pods_by_label.setdefault((objects.namespace(pod), label_key, value), []).append(pod)

    def service_node(service: Obj, show_ns: bool) -> Node:
        selector = (service.get("spec") or {}).get("selector") or {}
        first = next(iter(sorted(selector.items())), None)
        candidates = pods_by_label.get((objects.namespace(service), *first), []) if first else []
        return _service_node(service, candidates,
                             endpoints_by_name.get(objects.key(service)), now, show_ns)

    if by_namespace:
        return [namespace_node(ns, [service_node(s, False) for s in sorted_by_name(in_ns)])
                for ns, in_ns in sorted(group_by_ns(services).items())]
    show_ns = len({objects.namespace(s) for s in services}) > 1
    return [service_node(s, show_ns) for s in sorted_by_ns_name(services)]


def service_dns_name(service: Obj, cluster_domain: str = "cluster.local") -> str:
    """`<svc>.<ns>.svc.cluster.local`."""
    return f"{objects.meta(service).get('name')}.{objects.namespace(service) or 'default'}.svc.{cluster_domain}"


def endpoint_index(endpoints: Obj | None) -> tuple[frozenset[str], frozenset[str]]:
    """(ready, not ready) pod identities listed in an Endpoints object.

    An address is identified by its targetRef uid, or by "ns/name" when it has no uid
    (hand-written Endpoints): a recreated pod with the same name is a different endpoint.
    """
    ready: set[str] = set()
    not_ready: set[str] = set()
    for subset in (endpoints or {}).get("subsets") or ():
        for bucket, field_name in ((ready, "addresses"), (not_ready, "notReadyAddresses")):
            for address in subset.get(field_name) or ():
                ref = address.get("targetRef") or {}
                if ref.get("kind", "Pod") != "Pod":
                    continue
                if ref.get("uid"):
                    bucket.add(ref["uid"])
                elif ref.get("name"):
                    bucket.add(f"{ref.get('namespace') or objects.namespace(endpoints or {})}/{ref['name']}")
    return frozenset(ready), frozenset(not_ready)


def endpoint_state(pod: Obj, endpoints: Obj | None,
                   index: tuple[frozenset[str], frozenset[str]] | None = None) -> str:
    """Where a selected pod stands in its Service's Endpoints (see build_service_tree)."""
    if endpoints is None:
        return "no endpoints"
    ready, not_ready = index if index is not None else endpoint_index(endpoints)
    identities = {objects.uid(pod), f"{objects.namespace(pod)}/{objects.meta(pod).get('name')}"} - {""}
    if identities & ready:
        return "ready"
    if identities & not_ready:
        return "not ready"
    return "not in endpoints"


def service_node(service: Obj, pods: Sequence[Obj], endpoints: Obj | None, now: datetime, show_ns: bool) -> Node:
    """One Service's line with the pods its selector picks among `pods` (other views embed it)."""
    return _service_node(service, pods, endpoints, now, show_ns)


def _service_node(service: Obj, candidates: Sequence[Obj], endpoints: Obj | None, now: datetime,
                  show_ns: bool) -> Node:
    meta = objects.meta(service)
    spec = service.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    selector = spec.get("selector") or {}
    key = node_key("Service", service)
    index = endpoint_index(endpoints)
    children: tuple[Node, ...] = ()
    if selector and kind != "ExternalName":
        selected = [p for p in candidates if matches_selector(p, selector)]
        children = tuple(pod_node(p, now, False, key_prefix=key + "/", endpoint=endpoint_state(p, endpoints, index))
                         for p in sorted_by_name(selected))
    ready_count = sum(1 for c in children if c.columns.get("endpoint") == "ready")
    cluster_ip = spec.get("clusterIP") or NONE
    columns = {
        "type": kind,
        "cluster_ip": cluster_ip,
        "external": _external(service),
        "ports": ports_text(spec.get("ports")),
        "dns": service_dns_name(service),
        "selector": labels_text(selector),
        "endpoints": _endpoint_counts(endpoints),
        "age": age(meta.get("creationTimestamp"), now),
        "note": _service_note(kind, selector, endpoints, children),
    }
    if kind == "ExternalName":
        label = f"svc {display_name(service, show_ns)}  ExternalName  → {columns['external']}"
    else:
        label = f"svc {display_name(service, show_ns)}  {kind}  {cluster_ip}  {columns['ports']}"
        label += f"  {columns['note'] or f'{ready_count}/{len(children)} ready'}"
    health = _service_health(kind, selector, children, ready_count, meta)
    return Node(key=key, kind="Service", namespace=objects.namespace(service), name=meta.get("name", ""),
                uid=objects.uid(service), label=label, health=health, columns=columns,
                labels=dict(meta.get("labels") or {}), children=children)


def _service_note(kind: str, selector: Mapping[str, str], endpoints: Obj | None,
                  children: tuple[Node, ...]) -> str:
    if kind == "ExternalName":
        return "external name"
    if not selector:
        return "no selector"
    if not children:
        return "selector matches no pods"
    if endpoints is None:
        return "no endpoints object"
    return ""


def _service_health(kind: str, selector: Mapping[str, str], children: tuple[Node, ...], ready: int,
                    meta: Obj) -> Health:
    if meta.get("deletionTimestamp"):
        return "terminating"
    if kind == "ExternalName" or not selector:
        return "none"
    if not children:
        return "warning"  # the selector matches no pod
    if ready == 0:
        return "error"
    return "ok" if ready == len(children) else "warning"


def _external(service: Obj) -> str:
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return spec.get("externalName") or NONE
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    addresses = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]
    addresses += spec.get("externalIPs") or []
    if addresses:
        return ",".join(addresses)
    return "<pending>" if spec.get("type") == "LoadBalancer" else NONE


def _endpoint_counts(endpoints: Obj | None) -> str:
    if endpoints is None:
        return NONE
    ready = sum(len(s.get("addresses") or ()) for s in endpoints.get("subsets") or ())
    not_ready = sum(len(s.get("notReadyAddresses") or ()) for s in endpoints.get("subsets") or ())
    return f"{ready} ready, {not_ready} not ready"
