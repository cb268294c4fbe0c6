"""Ownership trees (Deployment → ReplicaSet → Pod, Service → Pod) as plain, keyed nodes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator, Mapping, Sequence

from kdash.render.format import NONE, age, labels_text, parse_time, ports_text, short_image
from kdash.render.labels import Selector, parse_selector
from kdash.render.pods import Health, PodRow, pod_row
from kdash.render.rollout import RolloutStatus, controller_ref, revision_of, rollout_status

Obj = Mapping[str, Any]

BARE_REPLICASETS = "ReplicaSets without Deployment"
BARE_PODS = "Pods without ReplicaSet"
STRUCTURAL_KINDS = frozenset({"group", "Namespace"})


@dataclass(frozen=True)
class Node:
    """One line of a resource tree.

    Widgets patch a Textual Tree by `key` and compare `label`s, so both are deterministic
    for a given (objects, now).
    """

    key: str
    """Unique across the tree: "Deployment/ns/name", "Service/ns/svc/Pod/ns/pod", "group/…"."""
    kind: str
    """API kind, or "group" / "Namespace" for structural nodes."""
    namespace: str
    name: str
    uid: str
    label: str
    """Plain one-line text, ~76 columns in the common case."""
    health: Health
    columns: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Display fields by name (status, ready, age, images, …) for tables and detail panes."""
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    """The object's metadata.labels (used by label-selector filtering)."""
    children: tuple["Node", ...] = ()


# ---------------------------------------------------------------------------------------------
# Workloads


def build_workload_tree(deployments: Iterable[Obj], replicasets: Iterable[Obj], pods: Iterable[Obj],
                        now: datetime, *, by_namespace: bool = False) -> list[Node]:
    """Deployments → ReplicaSets (newest revision first) → Pods (by name).

    ReplicaSets without a Deployment and Pods without a ReplicaSet (no controller, another
    kind of controller, or an owner we were not given) come last under group nodes. Owners
    are matched by uid, so the same names in several namespaces are fine. Without
    `by_namespace` the top level is sorted by namespace then name, and names carry a "ns/"
    prefix when the input spans several namespaces; with it, the top level is one
    "Namespace" node per namespace.
    """
    workloads = _Workloads(list(deployments), list(replicasets), list(pods), now)
    if not by_namespace:
        show_ns = len(workloads.namespaces) > 1
        return workloads.section(workloads.deployments, workloads.bare_rs, workloads.bare_pods, "", show_ns)
    deployments_in, bare_rs_in, bare_pods_in = (_group_by_ns(objs) for objs in (
        workloads.deployments, workloads.bare_rs, workloads.bare_pods))
    return [
        _namespace_node(ns, workloads.section(deployments_in.get(ns, []), bare_rs_in.get(ns, []),
                                              bare_pods_in.get(ns, []), ns, False))
        for ns in sorted(workloads.namespaces)
    ]


class _Workloads:
    """Owner indexes over one snapshot, so each level finds its children in O(1)."""

    def __init__(self, deployments: list[Obj], replicasets: list[Obj], pods: list[Obj], now: datetime) -> None:
        self.now = now
        self.deployments = deployments
        self.rs_by_owner = _by_controller(replicasets)
        self.pods_by_owner = _by_controller(pods)
        deployment_uids = {_uid(d) for d in deployments} - {""}
        rs_uids = {_uid(rs) for rs in replicasets} - {""}
        # _owner_uid returns "" for "no such controller", which is never in the uid sets.
        self.bare_rs = [rs for rs in replicasets if _owner_uid(rs, "Deployment") not in deployment_uids]
        self.bare_pods = [p for p in pods if _owner_uid(p, "ReplicaSet") not in rs_uids]
        self.namespaces = {_ns(o) for o in (*deployments, *replicasets, *pods)}

    def section(self, deployments: list[Obj], bare_rs: list[Obj], bare_pods: list[Obj], namespace: str,
                show_ns: bool) -> list[Node]:
        """Deployments of one scope, then its bare-ReplicaSet and bare-Pod groups (if any)."""
        nodes = [self.deployment_node(d, show_ns) for d in _sorted_by_ns_name(deployments)]
        scope = f"{namespace}/" if namespace else ""
        rs_children = tuple(self.rs_node(rs, show_ns) for rs in _sorted_by_ns_name(bare_rs))
        pod_children = tuple(_pod_node(p, self.now, show_ns) for p in _sorted_by_ns_name(bare_pods))
        if rs_children:
            nodes.append(_group_node(f"group/{scope}replicasets-without-deployment", BARE_REPLICASETS,
                                     namespace, rs_children))
        if pod_children:
            nodes.append(_group_node(f"group/{scope}pods-without-replicaset", BARE_PODS, namespace, pod_children))
        return nodes

    def deployment_node(self, deployment: Obj, show_ns: bool) -> Node:
        owned = self.rs_by_owner.get(_uid(deployment), [])
        status = rollout_status(deployment, owned)
        children = tuple(self.rs_node(rs, False) for rs in sorted(owned, key=_newest_first))
        return _deployment_node(deployment, status, self.now, children, show_ns)

    def rs_node(self, rs: Obj, show_ns: bool) -> Node:
        pods = _sorted_by_name(self.pods_by_owner.get(_uid(rs), ()))
        return _replicaset_node(rs, self.now, tuple(_pod_node(p, self.now, False) for p in pods), show_ns)


def _deployment_node(deployment: Obj, status: RolloutStatus, now: datetime, children: tuple[Node, ...],
                     show_ns: bool) -> Node:
    meta = _meta(deployment)
    template_spec = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {})
    images = ",".join(short_image(c.get("image", "")) for c in template_spec.get("containers") or ())
    ready = f"{status.ready}/{status.desired}"
    label = (f"{_display_name(deployment, show_ns)}  {ready} ready  up-to-date {status.updated}  "
             f"available {status.available}  rev {status.revision}")
    if status.state not in ("complete", "scaled-to-zero"):
        label += f"  {_STATE_WORDS[status.state] if status.observed else 'observing'}"
    columns = {
        "ready": ready,
        "up_to_date": str(status.updated),
        "available": str(status.available),
        "revision": str(status.revision),
        "images": images,
        "strategy": status.strategy,
        "state": status.state,
        "rollout": status.summary,
        "message": status.message,
        "progress": f"{status.progress:.2f}",
        "age": age(meta.get("creationTimestamp"), now),
    }
    health: Health = "terminating" if meta.get("deletionTimestamp") else _ROLLOUT_HEALTH[status.state]
    return _object_node("Deployment", deployment, label, health, columns, children)


_STATE_WORDS = {"progressing": "rolling", "failed": "FAILED", "paused": "paused"}
_ROLLOUT_HEALTH: dict[str, Health] = {
    "complete": "ok", "scaled-to-zero": "ok", "progressing": "progressing", "paused": "warning", "failed": "error",
}


def _replicaset_node(rs: Obj, now: datetime, children: tuple[Node, ...], show_ns: bool) -> Node:
    meta = _meta(rs)
    spec = rs.get("spec") or {}
    status = rs.get("status") or {}
    desired = spec.get("replicas", 1) or 0
    current = status.get("replicas") or 0
    ready = status.get("readyReplicas") or 0
    template_spec = ((spec.get("template") or {}).get("spec") or {})
    images = ",".join(short_image(c.get("image", "")) for c in template_spec.get("containers") or ())
    revision = revision_of(rs)
    # A ReplicaSet made by hand has no revision; "rev 0" would suggest a rollout history.
    rev_part = f"  rev {revision}" if revision else ""
    label = f"rs {_display_name(rs, show_ns)}{rev_part}  {images}  {desired}/{current}/{ready}"
    columns = {
        "revision": str(revision),
        "images": images,
        "desired": str(desired),
        "current": str(current),
        "ready": str(ready),
        "age": age(meta.get("creationTimestamp"), now),
    }
    return _object_node("ReplicaSet", rs, label, _replicaset_health(rs, desired, current, ready), columns, children)


def _replicaset_health(rs: Obj, desired: int, current: int, ready: int) -> Health:
    if _meta(rs).get("deletionTimestamp"):
        return "terminating"
    if any(c.get("type") == "ReplicaFailure" and c.get("status") == "True"
           for c in (rs.get("status") or {}).get("conditions") or ()):
        return "error"
    if desired == 0 and current == 0:
        return "none"  # an old revision kept for rollback
    return "ok" if ready >= desired and current == desired else "progressing"


def _pod_node(pod: Obj, now: datetime, show_ns: bool, key_prefix: str = "",
              endpoint: str | None = None) -> Node:
    row = pod_row(pod, now)
    columns = _pod_columns(row)
    if endpoint is None:
        label = (f"pod {_display_name(pod, show_ns)}  {row.status}  {row.ready_text}  {row.restarts_text}  "
                 f"{row.age}  {row.node}  {row.ip}")
        health = row.health
    else:
        columns["endpoint"] = endpoint
        label = f"pod {_display_name(pod, show_ns)}  {row.status}  {row.ready_text}  {endpoint}"
        # Out of the endpoints is expected while a pod starts or stops; otherwise it is a warning.
        keep = endpoint == "ready" or row.health in ("error", "terminating", "progressing")
        health = row.health if keep else "warning"
    return _object_node("Pod", pod, label, health, columns, (), key_prefix)


def _pod_columns(row: PodRow) -> dict[str, str]:
    return {
        "status": row.status,
        "ready": row.ready_text,
        "restarts": row.restarts_text,
        "age": row.age,
        "node": row.node,
        "ip": row.ip,
        "images": ",".join(row.images),
    }


# ---------------------------------------------------------------------------------------------
# Services


def build_service_tree(services: Iterable[Obj], pods: Iterable[Obj], endpoints: Iterable[Obj],
                       now: datetime, *, by_namespace: bool = False) -> list[Node]:
    """Services → the Pods their selector picks, each with its state in the Endpoints object.

    A pod's `endpoint` column is "ready" (in `addresses`), "not ready" (in
    `notReadyAddresses`), "not in endpoints" (selected but listed nowhere, e.g. no IP yet) or
    "no endpoints" (the Service has no Endpoints object at all).
    """
    services, pods = list(services), list(pods)
    endpoints_by_name = {(_ns(e), _meta(e).get("name")): e for e in endpoints}
    # Index pods by (namespace, label, value) so each Service only scans pods sharing one of
    # its selector pairs instead of the whole namespace.
    pods_by_label: dict[tuple[str, str, str], list[Obj]] = {}
    for pod in pods:
        for label_key, value in (_meta(pod).get("labels") or {}).items():
            pods_by_label.setdefault((_ns(pod), label_key, value), []).append(pod)

    def service_node(service: Obj, show_ns: bool) -> Node:
        selector = (service.get("spec") or {}).get("selector") or {}
        first = next(iter(sorted(selector.items())), None)
        candidates = pods_by_label.get((_ns(service), *first), []) if first else []
        return _service_node(service, candidates,
                             endpoints_by_name.get((_ns(service), _meta(service).get("name"))), now, show_ns)

    if by_namespace:
        return [_namespace_node(ns, [service_node(s, False) for s in _sorted_by_name(in_ns)])
                for ns, in_ns in sorted(_group_by_ns(services).items())]
    show_ns = len({_ns(s) for s in services}) > 1
    return [service_node(s, show_ns) for s in _sorted_by_ns_name(services)]


def service_dns_name(service: Obj, cluster_domain: str = "cluster.local") -> str:
    """`<svc>.<ns>.svc.cluster.local`."""
    return f"{_meta(service).get('name')}.{_ns(service) or 'default'}.svc.{cluster_domain}"


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
                    bucket.add(f"{ref.get('namespace') or _ns(endpoints or {})}/{ref['name']}")
    return frozenset(ready), frozenset(not_ready)


def endpoint_state(pod: Obj, endpoints: Obj | None,
                   index: tuple[frozenset[str], frozenset[str]] | None = None) -> str:
    """Where a selected pod stands in its Service's Endpoints (see build_service_tree)."""
    if endpoints is None:
        return "no endpoints"
    ready, not_ready = index if index is not None else endpoint_index(endpoints)
    identities = {_uid(pod), f"{_ns(pod)}/{_meta(pod).get('name')}"} - {""}
    if identities & ready:
        return "ready"
    if identities & not_ready:
        return "not ready"
    return "not in endpoints"


def _service_node(service: Obj, candidates: Sequence[Obj], endpoints: Obj | None, now: datetime,
                  show_ns: bool) -> Node:
    meta = _meta(service)
    spec = service.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    selector = spec.get("selector") or {}
    key = _key("Service", service)
    index = endpoint_index(endpoints)
    children: tuple[Node, ...] = ()
    if selector and kind != "ExternalName":
        selected = [p for p in candidates if _labels_match(selector, p)]
        children = tuple(_pod_node(p, now, False, key_prefix=key + "/", endpoint=endpoint_state(p, endpoints, index))
                         for p in _sorted_by_name(selected))
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
        label = f"svc {_display_name(service, show_ns)}  ExternalName  → {columns['external']}"
    else:
        label = f"svc {_display_name(service, show_ns)}  {kind}  {cluster_ip}  {columns['ports']}"
        label += f"  {columns['note'] or f'{ready_count}/{len(children)} ready'}"
    health = _service_health(kind, selector, children, ready_count, meta)
    return Node(key=key, kind="Service", namespace=_ns(service), name=meta.get("name", ""), uid=_uid(service),
                label=label, health=health, columns=columns, labels=dict(meta.get("labels") or {}),
                children=children)


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


def _labels_match(selector: Mapping[str, str], obj: Obj) -> bool:
    labels = _meta(obj).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


# ---------------------------------------------------------------------------------------------
# Walking and filtering


def flatten(nodes: Iterable[Node], depth: int = 0) -> Iterator[tuple[int, Node]]:
    """Depth-first (depth, node) pairs in display order."""
    for node in nodes:
        yield depth, node
        yield from flatten(node.children, depth + 1)


def find(nodes: Iterable[Node], key: str) -> Node | None:
    """The node with `key`, or None."""
    return next((node for _, node in flatten(nodes) if node.key == key), None)


def filter_tree(nodes: Iterable[Node], name_substring: str | None = None,
                label_selector: str | Selector | None = None) -> list[Node]:
    """Keep the nodes that match, or have a descendant that matches, with filtered children.

    A node matches when its name contains `name_substring` (case-insensitive) and its labels
    satisfy `label_selector` (kubectl syntax; ValueError on bad syntax). Group and Namespace
    nodes never match by themselves: they stay only while they hold a match. Without any
    filter the input is returned unchanged.
    """
    selector = parse_selector(label_selector) if isinstance(label_selector, str) else label_selector
    needle = (name_substring or "").strip().lower()
    nodes = list(nodes)
    if not needle and (selector is None or selector.empty):
        return nodes

    def matches(node: Node) -> bool:
        if node.kind in STRUCTURAL_KINDS:
            return False
        if needle and needle not in node.name.lower():
            return False
        return selector is None or selector.matches(node.labels)

    def prune(node: Node) -> Node | None:
        children = tuple(c for c in (prune(child) for child in node.children) if c is not None)
        if not children and not matches(node):
            return None
        if node.kind == "group":
            return _group_node(node.key, node.columns.get("title", node.name), node.namespace, children)
        return dataclasses.replace(node, children=children)

    return [n for n in (prune(node) for node in nodes) if n is not None]


# ---------------------------------------------------------------------------------------------
# Helpers


def _group_node(key: str, title: str, namespace: str, children: tuple[Node, ...]) -> Node:
    return Node(key=key, kind="group", namespace=namespace, name=title, uid="",
                label=f"{title} ({len(children)})", health="none",
                columns={"title": title, "count": str(len(children))}, children=children)


def _namespace_node(namespace: str, children: list[Node]) -> Node:
    return Node(key=f"Namespace/{namespace}", kind="Namespace", namespace=namespace, name=namespace, uid="",
                label=f"namespace {namespace}", health="none", children=tuple(children))


def _object_node(kind: str, obj: Obj, label: str, health: Health, columns: dict[str, str],
                 children: tuple[Node, ...], key_prefix: str = "") -> Node:
    meta = _meta(obj)
    return Node(key=key_prefix + _key(kind, obj), kind=kind, namespace=_ns(obj), name=meta.get("name", ""),
                uid=_uid(obj), label=label, health=health, columns=columns,
                labels=dict(meta.get("labels") or {}), children=children)


def _key(kind: str, obj: Obj) -> str:
    return f"{kind}/{_ns(obj)}/{_meta(obj).get('name', '')}"


def _display_name(obj: Obj, show_ns: bool) -> str:
    name = _meta(obj).get("name", "")
    return f"{_ns(obj)}/{name}" if show_ns else name


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _ns(obj: Obj) -> str:
    return _meta(obj).get("namespace") or ""


def _uid(obj: Obj) -> str:
    return _meta(obj).get("uid") or ""


def _owner_uid(obj: Obj, kind: str) -> str:
    ref = controller_ref(obj)
    return (ref.get("uid") or "") if ref and ref.get("kind") == kind else ""


def _by_controller(objs: Iterable[Obj]) -> dict[str, list[Obj]]:
    index: dict[str, list[Obj]] = {}
    for obj in objs:
        ref = controller_ref(obj)
        if ref and ref.get("uid"):
            index.setdefault(ref["uid"], []).append(obj)
    return index


def _group_by_ns(objs: Iterable[Obj]) -> dict[str, list[Obj]]:
    grouped: dict[str, list[Obj]] = {}
    for obj in objs:
        grouped.setdefault(_ns(obj), []).append(obj)
    return grouped


def _sorted_by_name(objs: Iterable[Obj]) -> list[Obj]:
    return sorted(objs, key=lambda o: _meta(o).get("name", ""))


def _sorted_by_ns_name(objs: Iterable[Obj]) -> list[Obj]:
    return sorted(objs, key=lambda o: (_ns(o), _meta(o).get("name", "")))


def _newest_first(rs: Obj) -> tuple[int, float, str]:
    # Revision descending, then creation time descending; the name breaks ties deterministically.
    created = parse_time(_meta(rs).get("creationTimestamp"))
    return (-revision_of(rs), -(created.timestamp() if created else 0.0), _meta(rs).get("name", ""))
