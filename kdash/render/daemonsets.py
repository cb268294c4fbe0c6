"""The DaemonSet tree: set → one line per node (its daemon pod, or the lack of one)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from kdash.core import daemonsets as core_ds
from kdash.core import objects
from kdash.core import pods as core_pods
from kdash.core.daemonsets import DaemonSetStatus
from kdash.core.objects import Obj
from kdash.core.pods import Health
from kdash.core.revisions import current_revision, owned_revisions, pod_revision_hash, revision_keys, revision_number
from kdash.core.rollout import container_images
from kdash.render.format import age
from kdash.render.pods import pod_row
from kdash.render.tree import (
    Node,
    NodeMemo,
    display_name,
    group_by_ns,
    namespace_node,
    node_key,
    object_node,
    pod_columns,
    sorted_by_name,
    sorted_by_ns_name,
    timed_text,
)

_STATE_WORDS = {"progressing": "rolling", "on-delete": "OnDelete: delete pods to update", "observing": "observing",
                "no-nodes": "no node matches"}
_HEALTH: dict[str, Health] = {"complete": "ok", "progressing": "progressing", "on-delete": "warning",
                              "observing": "progressing", "no-nodes": "warning"}


def build_daemonset_tree(daemonsets: Iterable[Obj], pods: Iterable[Obj], nodes: Iterable[Obj] | None,
                         revisions: Iterable[Obj], now: datetime, *, by_namespace: bool = False,
                         cache: NodeMemo | None = None) -> list[Node]:
    """DaemonSets → a line per node: the daemon pod on it, or "no pod" on a node that should run
    one. `nodes` None means the Nodes could not be listed: then only the pods show, and a line
    says that nodes without a pod cannot be seen. `cache`: as in build_statefulset_tree."""
    daemonsets = list(daemonsets)
    node_list = None if nodes is None else sorted_by_name(nodes)
    pods_by_owner: dict[str, list[Obj]] = {}
    for pod in pods:
        owner = objects.owner_uid(pod)
        if owner:
            pods_by_owner.setdefault(owner, []).append(pod)
    revisions_by_owner: dict[str, list[Obj]] = {}
    for revision in revisions:
        owner = objects.owner_uid(revision)
        if owner:
            revisions_by_owner.setdefault(owner, []).append(revision)

    def one(ds: Obj, show_ns: bool) -> Node:
        uid = objects.uid(ds)
        owned_pods, owned_revisions = pods_by_owner.get(uid, ()), revisions_by_owner.get(uid, ())
        if cache is None:
            return daemonset_node(ds, owned_pods, node_list, owned_revisions, now, show_ns)
        return cache.node(uid, (ds, show_ns, node_list is None, *owned_pods, *owned_revisions, *(node_list or ())),
                          lambda: daemonset_node(ds, owned_pods, node_list, owned_revisions, now, show_ns))

    if by_namespace:
        built = [namespace_node(ns, [one(d, False) for d in sorted_by_name(in_ns)])
                 for ns, in_ns in sorted(group_by_ns(daemonsets).items())]
    else:
        show_ns = len({objects.namespace(d) for d in daemonsets}) > 1
        built = [one(d, show_ns) for d in sorted_by_ns_name(daemonsets)]
    if cache is not None:
        cache.sweep()
    return built


def daemonset_node(ds: Obj, pods: Iterable[Obj], nodes: Sequence[Obj] | None, revisions: Iterable[Obj],
                   now: datetime, show_ns: bool) -> Node:
    status = core_ds.daemonset_status(ds)
    owned = owned_revisions(ds, revisions)
    numbers = {key: revision_number(r) for r in owned for key in revision_keys(r)}
    current = current_revision(ds, owned)
    current_keys = revision_keys(current) if current is not None else frozenset()
    key = node_key("DaemonSet", ds)
    uid = objects.uid(ds)
    by_node: dict[str, list[Obj]] = {}
    for pod in pods:
        if objects.is_controlled_by(pod, uid):
            by_node.setdefault(core_pods.wanted_node(pod), []).append(pod)
    children: list[Node] = []
    excluded = 0
    node_names = set()
    eligible: dict[str, tuple[bool, str]] = {}
    for node in nodes or ():
        name = objects.name(node)
        node_names.add(name)
        eligible[name] = core_ds.should_run(ds, node)
    for name in sorted(set(by_node) | {n for n, (ok, _) in eligible.items() if ok}):
        on_node = sorted_by_name(by_node.get(name, ()))
        if not on_node:
            children.append(_no_pod_node(ds, name, key))
            continue
        fit, why = eligible.get(name, (True, ""))
        misscheduled = nodes is not None and bool(name) and (name not in node_names or not fit)
        reason = ("node gone" if name not in node_names else f"misscheduled: {why}") if misscheduled else ""
        for pod in on_node:
            children.append(_pod_node(pod, name, numbers, current_keys, reason, now, key))
        if not fit:
            excluded -= 1  # counted below as excluded, yet it runs a pod: not "excluded" then
    excluded += sum(1 for ok, _ in eligible.values() if not ok)
    if nodes is None:
        children.append(Node(key=f"{key}/notice/nodes", kind="notice", namespace=objects.namespace(ds), name="",
                             uid="", label="nodes not listed: a node without its pod cannot be shown",
                             health="warning"))
    return _set_node(ds, status, numbers.get(next(iter(current_keys), ""), 0), excluded, now, tuple(children),
                     show_ns)


def _set_node(ds: Obj, status: DaemonSetStatus, revision: int, excluded: int, now: datetime,
              children: tuple[Node, ...], show_ns: bool) -> Node:
    meta = objects.meta(ds)
    template_spec = (((ds.get("spec") or {}).get("template") or {}).get("spec")) or {}
    label = (f"ds {display_name(ds, show_ns)}  desired {status.desired} current {status.current} "
             f"ready {status.ready} up-to-date {status.updated} available {status.available}")
    if status.misscheduled:
        label += f"  misscheduled {status.misscheduled}"
    if revision:
        label += f"  rev {revision}"
    if status.state != "complete":
        label += f"  {_STATE_WORDS[status.state]}"
    columns = {
        "desired": str(status.desired),
        "current": str(status.current),
        "ready": str(status.ready),
        "up_to_date": str(status.updated),
        "available": str(status.available),
        "misscheduled": str(status.misscheduled),
        "strategy": status.strategy,
        "max_unavailable": status.max_unavailable,
        "max_surge": status.max_surge,
        "revision": str(revision),
        "images": ",".join(container_images(template_spec)),
        "node_selector": ",".join(f"{k}={v}" for k, v in sorted((template_spec.get("nodeSelector") or {}).items())),
        "excluded_nodes": str(excluded),
        "state": status.state,
        "rollout": status.summary,
        "message": status.message,
        "age": age(meta.get("creationTimestamp"), now),
    }
    health: Health = _HEALTH[status.state]
    if meta.get("deletionTimestamp"):
        health = "terminating"
    elif status.misscheduled or any(c.kind == "notice" and c.health == "warning" for c in children):
        health = "warning" if health == "ok" else health
    return object_node("DaemonSet", ds, label, health, columns, children)


def _pod_node(pod: Obj, node: str, numbers: Mapping[str, int], current_keys: frozenset[str], reason: str,
              now: datetime, prefix: str) -> Node:
    row = pod_row(pod, now)
    columns = pod_columns(row)
    pod_hash = pod_revision_hash(pod)
    rev = numbers.get(pod_hash, 0)
    note = reason or ("" if not current_keys or pod_hash in current_keys else "to update")
    where = f"on {node}" if core_pods.node_name(pod) else (f"for {node}, unscheduled" if node else "unscheduled")
    restarts: tuple = (row.restarts_text,)
    if row.last_restart is not None:
        restarts = (f"{row.restarts} (", (row.last_restart, age(row.last_restart, now)), " ago)")
    label, timed = timed_text(f"pod {objects.name(pod)}  {row.status}  {row.ready_text}  "
                              f"{f'rev {rev}' if rev else 'rev ?'}{f' ({note})' if note else ''}  ",
                              *restarts, "  ", (row.created, row.age), f"  {where}")
    columns.update({"revision": str(rev), "for_node": node, "note": note})
    health = row.health
    if reason and health not in ("terminating", "error"):
        health = "warning"
    return object_node("Pod", pod, label, health, columns, (), prefix + "/", timed)


def _no_pod_node(ds: Obj, node: str, prefix: str) -> Node:
    """An eligible node without the daemon pod (just added, or the controller is behind)."""
    return Node(key=f"{prefix}/Node/{node}", kind="notice", namespace=objects.namespace(ds), name="", uid="",
                label=f"node {node}  no pod (should run one)", health="warning",
                columns={"for_node": node, "status": "no pod"})
