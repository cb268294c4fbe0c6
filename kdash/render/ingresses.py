"""The Ingresses view: Ingress → host/path rules → Service (stable and nginx canary, with the split) → Pods."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from kdash.core import ingresses as core
from kdash.core import objects
from kdash.core.objects import Obj
from kdash.core.pods import Health
from kdash.core.values import parse_time
from kdash.render.format import NONE, age
from kdash.render.services import service_node
from kdash.render.tree import Node, display_name, node_key, object_node, sorted_by_ns_name, timed_text


def build_ingress_tree(ingresses: Iterable[Obj], services: Iterable[Obj], pods: Iterable[Obj],
                       endpoints: Iterable[Obj], now: datetime) -> list[Node]:
    """Every Ingress by namespace and name. A stable Ingress's rules carry the canaries that share
    their host and path; a canary Ingress says which stable Ingress it splits (or that it routes nothing)."""
    ingresses = list(ingresses)
    show_ns = len({objects.namespace(i) for i in ingresses}) > 1
    lookup = _Lookup(services, pods, endpoints, now)
    return [_ingress_node(i, ingresses, lookup, show_ns) for i in sorted_by_ns_name(ingresses)]


class _Lookup:
    """Services, their Endpoints and pods by namespace, to build a Service's subtree under a rule."""

    def __init__(self, services: Iterable[Obj], pods: Iterable[Obj], endpoints: Iterable[Obj],
                 now: datetime) -> None:
        self.services = {objects.key(s): s for s in services}
        self.endpoints = {objects.key(e): e for e in endpoints}
        self.pods: dict[str, list[Obj]] = {}
        for pod in pods:
            self.pods.setdefault(objects.namespace(pod), []).append(pod)
        self.now = now

    def service(self, namespace: str, backend: core.Backend, role: str, key_prefix: str) -> Node:
        found = self.services.get((namespace, backend.service))
        if found is None:
            return Node(key=f"{key_prefix}Service/{namespace}/{backend.service}", kind="Service",
                        namespace=namespace, name=backend.service, uid="",
                        label=f"svc {backend.text}  {role}  service not found", health="error",
                        columns={"role": role, "note": "service not found"})
        node = service_node(found, self.pods.get(namespace, []), self.endpoints.get((namespace, backend.service)),
                            self.now, False)
        # The port is on the rule's line already; the Service's own ports stay in its columns.
        node = dataclasses.replace(node, label=node.label.replace(f"svc {backend.service}",
                                                                  f"svc {backend.service}  {role}", 1),
                                   columns={**node.columns, "role": role, "backend_port": backend.port or NONE})
        return _rekey(node, key_prefix)


def _ingress_node(ingress: Obj, all_ingresses: list[Obj], lookup: _Lookup, show_ns: bool) -> Node:
    meta = objects.meta(ingress)
    key = node_key("Ingress", ingress)
    tls = core.tls_hosts(ingress)
    columns = {
        "class": core.ingress_class(ingress),
        "hosts": core.hosts_text(ingress),
        "address": core.address_text(ingress) or NONE,
        "ports": core.ports_text(ingress),
        "tls": ",".join(tls) or NONE,
        "age": age(meta.get("creationTimestamp"), lookup.now),
    }
    head = f"ingress {display_name(ingress, show_ns)}  {columns['class']}  {columns['hosts']}  " \
           f"{columns['address']}  {columns['ports']}"
    if core.is_canary(ingress):
        stable = core.stable_for(ingress, all_ingresses)
        columns["canary_of"] = ",".join(stable) or NONE
        tail = f"  canary of {columns['canary_of']}" if stable else "  canary of no Ingress: routes nothing"
        children: tuple[Node, ...] = ()
        health: Health = "ok" if stable else "warning"
    else:
        routes = core.routes(ingress, all_ingresses)
        tail = f"  tls {columns['tls']}" if tls else ""
        children = tuple(_route_node(r, objects.namespace(ingress), key, lookup) for r in routes)
        health = _worst(c.health for c in children) if children else "warning"
    label, timed = timed_text(head + tail + "  ", (parse_time(meta.get("creationTimestamp")), columns["age"]))
    if objects.is_terminating(ingress):
        health = "terminating"
    return object_node("Ingress", ingress, label, health, columns, children, timed=timed)


def _route_node(route: core.Route, namespace: str, ingress_key: str, lookup: _Lookup) -> Node:
    rule = route.rule
    key = f"{ingress_key}/rule/{rule.host}{rule.path}"
    if route.canaries:
        split = " · ".join([f"{rule.backend.text} {route.stable_weight}%",
                            *(f"canary {c.backend.text} {c.routing}" for c in route.canaries)])
        children = (lookup.service(namespace, rule.backend, f"stable {route.stable_weight}%", key + "/"),
                    *(lookup.service(namespace, c.backend, f"canary {c.routing}",
                                     f"{key}/canary/{c.ingress}/") for c in route.canaries))
    else:
        split = f"→ {rule.backend.text}"
        children = (lookup.service(namespace, rule.backend, "100%", key + "/"),)
    columns = {"host": rule.host, "path": rule.path, "path_type": rule.path_type or NONE, "split": split,
               "canaries": ",".join(c.ingress for c in route.canaries) or NONE}
    label = f"{rule.where}  {split}"
    return Node(key=key, kind="IngressRule", namespace=namespace, name=rule.where, uid="", label=label,
                health=_worst(c.health for c in children), columns=columns, children=children)


def _rekey(node: Node, prefix: str) -> Node:
    """The same subtree under keys starting with `prefix` (a Service can sit under several rules)."""
    return dataclasses.replace(node, key=prefix + node.key,
                               children=tuple(_rekey(child, prefix) for child in node.children))


_ORDER: tuple[Health, ...] = ("error", "warning", "progressing", "terminating", "ok", "none")


def _worst(healths: Iterable[Health]) -> Health:
    seen = set(healths)
    return next((h for h in _ORDER if h in seen), "none")
