"""The workload tree (Deployment → ReplicaSet → Pod), rebuilt incrementally from identity diffs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kdash.core import objects
from kdash.core.objects import Obj, controller_ref
from kdash.core.pods import Health
from kdash.core.rollout import RolloutStatus, revision_of, rollout_status
from kdash.core.values import parse_time, short_image
from kdash.render.format import age
from kdash.render.tree import (
    Node,
    display_name,
    group_by_ns,
    group_node,
    namespace_node,
    object_node,
    pod_node,
    sorted_by_name,
    sorted_by_ns_name,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

BARE_REPLICASETS = "ReplicaSets without Deployment"
BARE_PODS = "Pods without ReplicaSet"



class RenderCache:
    """State kept between builds of the workload tree, so a build redoes only what changed.

    The Store never mutates an object in place (an update replaces the whole dict), so a
    build can tell changed objects from unchanged ones by identity alone: it diffs the new
    input lists against the previous ones by `id()`, updates its owner indexes for the
    difference, and re-renders only the Deployments (and ownerless groups) whose objects were
    added, removed or replaced. Nodes of unchanged objects come back as the very same Node
    objects, which lets the widget skip whole subtrees. A build with a cache equals a build
    without one for the same inputs and `now`, except that reused nodes keep the ages of the
    build that made them: ages move at paint time (`label_at`), never by re-rendering.
    `clear()` forgets everything.
    """

    def __init__(self) -> None:
        self._nodes: dict[tuple[str, int, bool], tuple[Obj, tuple[Node, ...], Node]] = {}
        self._workloads: _Workloads | None = None

    def get(self, slot: tuple[str, int, bool], obj: Obj, children: tuple[Node, ...] = ()) -> Node | None:
        entry = self._nodes.get(slot)
        if entry is not None and entry[0] is obj and _same_nodes(entry[1], children):
            return entry[2]
        return None

    def put(self, slot: tuple[str, int, bool], obj: Obj, children: tuple[Node, ...], node: Node) -> Node:
        self._nodes[slot] = (obj, children, node)
        return node

    def forget(self, kind: str, obj: Obj) -> None:
        for show_ns in (False, True):
            self._nodes.pop((kind, id(obj), show_ns), None)

    def workloads(self) -> _Workloads:
        if self._workloads is None:
            self._workloads = _Workloads(self)
        return self._workloads

    def clear(self) -> None:
        self._nodes.clear()
        self._workloads = None

    def __len__(self) -> int:
        return len(self._nodes)


def _same_nodes(a: tuple[Node, ...], b: tuple[Node, ...]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def build_workload_tree(deployments: Iterable[Obj], replicasets: Iterable[Obj], pods: Iterable[Obj],
                        now: datetime, *, by_namespace: bool = False,
                        cache: RenderCache | None = None) -> list[Node]:
    """Deployments → ReplicaSets (newest revision first) → Pods (by name).

    ReplicaSets without a Deployment and Pods without a ReplicaSet (no controller, another
    kind of controller, or an owner we were not given) come last under group nodes. Owners
    are matched by uid, so the same names in several namespaces are fine. Without
    `by_namespace` the top level is sorted by namespace then name, and names carry a "ns/"
    prefix when the input spans several namespaces; with it, the top level is one
    "Namespace" node per namespace. With a `cache` (see RenderCache), repeated builds over a
    mostly unchanged store cost about as much as the change.
    """
    if by_namespace or cache is None:
        workloads = _Workloads(RenderCache())
        workloads.update(deployments, replicasets, pods, now)
        if not by_namespace:
            return workloads.top_level(workloads.show_ns)
        deployments_in, bare_rs_in, bare_pods_in = (group_by_ns(objs) for objs in (
            workloads.objects[_DEP].values(), workloads.bare_rs.values(), workloads.bare_pods.values()))
        return [
            namespace_node(ns, workloads.section(deployments_in.get(ns, []), bare_rs_in.get(ns, []),
                                                  bare_pods_in.get(ns, []), ns, False))
            for ns in sorted(workloads.namespaces)
        ]
    return cache.workloads().build(deployments, replicasets, pods, now)


def build_workload_tree_from(drained: Mapping[str, Any], now: datetime, cache: RenderCache) -> list[Node]:
    """`build_workload_tree` from a Store feed's drain of Deployments, ReplicaSets and Pods
    (kdash.kube.store.Store.drain): what changed since the previous build, not every object."""
    workloads = cache.workloads()
    workloads.update_from(drained, now)
    return workloads.top_level(workloads.show_ns)


_DEP, _RS, _POD = "Deployment", "ReplicaSet", "Pod"


@dataclass(frozen=True, slots=True)
class _Facts:
    namespace: str
    name: str
    uid: str
    owner_kind: str  # of the controller ownerReference, "" without one
    owner_uid: str


def _facts(obj: Obj) -> _Facts:
    meta = objects.meta(obj)
    ref = controller_ref(obj) or {}
    return _Facts(meta.get("namespace") or "", meta.get("name", ""), meta.get("uid") or "",
                  ref.get("kind") or "", ref.get("uid") or "")


class _Workloads:
    """Owner indexes over the objects, kept up to date by identity diffs of the inputs."""

    def __init__(self, cache: RenderCache) -> None:
        self.cache = cache
        self.now = _EPOCH  # set by every update before a node is built
        self.objects: dict[str, dict[int, Obj]] = {_DEP: {}, _RS: {}, _POD: {}}
        self.facts: dict[int, _Facts] = {}
        self.by_owner: dict[str, dict[str, dict[int, Obj]]] = {_RS: {}, _POD: {}}  # controller uid → objs
        self.by_uid: dict[str, dict[str, Obj]] = {_DEP: {}, _RS: {}}
        self.namespace_counts: dict[str, int] = {}
        self.bare_rs: dict[int, Obj] = {}
        self.bare_pods: dict[int, Obj] = {}
        self.order: list[Obj] = []  # Deployments by namespace, name
        self._order_at: dict[tuple[str, str], int] = {}  # (namespace, name) → index in order
        self.top: dict[int, Node] = {}  # id(Deployment) → its node, while valid
        self.groups: list[Node] = []
        self.show_ns = False
        self._dirty: set[str] = set()  # Deployment uids to re-render at the next build
        self._groups_dirty = True
        self._built = False

    @property
    def namespaces(self) -> set[str]:
        return set(self.namespace_counts)

    # -- incremental update ----------------------------------------------------------------

    def update(self, deployments: Iterable[Obj], replicasets: Iterable[Obj], pods: Iterable[Obj],
               now: datetime) -> None:
        """Bring the indexes up to date with full lists (an identity diff of every object)."""
        self._apply({kind: self._diff(kind, objs)
                     for kind, objs in ((_DEP, deployments), (_RS, replicasets), (_POD, pods))}, now)

    def update_from(self, drained: Mapping[str, Any], now: datetime) -> None:
        """The same from a Store feed's drain: only what changed is looked at (a full list
        where the feed hands one out)."""
        changes = {}
        for kind in (_DEP, _RS, _POD):
            part = drained[kind]
            changes[kind] = self._diff(kind, part.full) if part.full is not None else self._replay(kind, part.changes)
        self._apply(changes, now)

    def _diff(self, kind: str, objs: Iterable[Obj]) -> tuple[list[Obj], list[Obj]]:
        new = {id(o): o for o in objs}
        old = self.objects[kind]
        self.objects[kind] = new
        return [old[i] for i in old.keys() - new.keys()], [new[i] for i in new.keys() - old.keys()]

    def _replay(self, kind: str, entries: Iterable[tuple[Obj | None, Obj | None]]) -> tuple[list[Obj], list[Obj]]:
        """(removed, added) from (old, new) change entries; an object that came and went
        between two builds is in neither."""
        held = self.objects[kind]
        removed: dict[int, Obj] = {}
        added: dict[int, Obj] = {}
        for old, new in entries:
            if old is not None:
                if added.pop(id(old), None) is None and id(old) in held:
                    removed[id(old)] = old
            if new is not None:
                added[id(new)] = new
        for i in removed:
            del held[i]
        held.update(added)
        return list(removed.values()), list(added.values())

    def _apply(self, changes: dict[str, tuple[list[Obj], list[Obj]]], now: datetime) -> None:
        """Index the changes; remember which Deployments and groups to re-render."""
        self.now = now
        dirty, groups_dirty = self._dirty, self._groups_dirty
        existed: dict[tuple[str, str], bool] = {}  # (kind, uid) → existed before this update
        for kind in (_DEP, _RS, _POD):
            removed, added = changes[kind]
            for obj in removed:
                facts = self._unindex(kind, obj, existed)
                groups_dirty |= self._touch(kind, facts, dirty)
            for obj in added:
                facts = self._index(kind, obj, existed)
                groups_dirty |= self._touch(kind, facts, dirty)
        # Bare objects: no controller of the expected kind among the objects we hold.
        for kind, bare, owner_kind in ((_RS, self.bare_rs, _DEP), (_POD, self.bare_pods, _RS)):
            removed, added = changes[kind]
            for obj in removed:
                groups_dirty |= bare.pop(id(obj), None) is not None
            for obj in added:
                if not self._owned(self.facts[id(obj)], owner_kind):
                    bare[id(obj)] = obj
                    groups_dirty = True
            # An owner that appeared adopts its bare children; one that vanished orphans them.
            for (ekind, uid), before in existed.items():
                if ekind != owner_kind or before == (uid in self.by_uid[owner_kind]):
                    continue
                for i, child in self.by_owner[kind].get(uid, {}).items():
                    if self.facts[i].owner_kind != owner_kind:
                        continue
                    if before:
                        bare[i] = child
                    else:
                        bare.pop(i, None)
                    groups_dirty = True
        show_ns = len(self.namespace_counts) > 1
        if show_ns != self.show_ns or not self._built:
            self.show_ns = show_ns
            self.top.clear()
            groups_dirty = True
        if not self._built or not self._replace_in_order(*changes[_DEP]):
            by_id = self.facts
            self.order = sorted(self.objects[_DEP].values(),
                                key=lambda d: (by_id[id(d)].namespace, by_id[id(d)].name))
            self._order_at = {(by_id[id(d)].namespace, by_id[id(d)].name): i for i, d in enumerate(self.order)}
        self._groups_dirty = groups_dirty
        self._built = True

    def _replace_in_order(self, removed: list[Obj], added: list[Obj]) -> bool:
        """Put replaced Deployments (same namespace and name) where their old objects were;
        False if the set of Deployments changed (then the order is sorted again)."""
        if len(removed) != len(added):
            return False
        gone = {id(d) for d in removed}
        places = []
        for deployment in added:
            facts = self.facts[id(deployment)]
            place = self._order_at.get((facts.namespace, facts.name))
            if place is None or id(self.order[place]) not in gone:
                return False
            places.append(place)
        for place, deployment in zip(places, added):
            self.order[place] = deployment
        return True

    def _index(self, kind: str, obj: Obj, existed: dict) -> _Facts:
        facts = self.facts[id(obj)] = _facts(obj)
        self.namespace_counts[facts.namespace] = self.namespace_counts.get(facts.namespace, 0) + 1
        if kind in self.by_uid and facts.uid:
            existed.setdefault((kind, facts.uid), facts.uid in self.by_uid[kind])
            self.by_uid[kind][facts.uid] = obj
        if kind in self.by_owner and facts.owner_uid:
            self.by_owner[kind].setdefault(facts.owner_uid, {})[id(obj)] = obj
        return facts

    def _unindex(self, kind: str, obj: Obj, existed: dict) -> _Facts:
        facts = self.facts.pop(id(obj))
        count = self.namespace_counts[facts.namespace] - 1
        if count:
            self.namespace_counts[facts.namespace] = count
        else:
            del self.namespace_counts[facts.namespace]
        if kind in self.by_uid and facts.uid:
            existed.setdefault((kind, facts.uid), facts.uid in self.by_uid[kind])
            if self.by_uid[kind].get(facts.uid) is obj:
                del self.by_uid[kind][facts.uid]
        if kind in self.by_owner and facts.owner_uid:
            siblings = self.by_owner[kind].get(facts.owner_uid)
            if siblings is not None:
                siblings.pop(id(obj), None)
                if not siblings:
                    del self.by_owner[kind][facts.owner_uid]
        self.cache.forget(kind, obj)
        return facts

    def _owned(self, facts: _Facts, owner_kind: str) -> bool:
        return facts.owner_kind == owner_kind and facts.owner_uid in self.by_uid[owner_kind]

    def _touch(self, kind: str, facts: _Facts, dirty: set[str]) -> bool:
        """Mark the Deployment an object's change shows under; True if it shows in a group.

        Objects entering or leaving the groups themselves are handled in `update`; this only
        catches pods whose change shows under a bare ReplicaSet. Kinds are applied Deployments
        first, then ReplicaSets, then Pods, so the owners looked up here are current.
        """
        if kind == _DEP:
            dirty.add(facts.uid)
            return False
        if kind == _POD:
            if facts.owner_kind != _RS:
                return False
            rs = self.by_uid[_RS].get(facts.owner_uid)
            if rs is None:
                return False
            facts = self.facts[id(rs)]
        if self._owned(facts, _DEP):
            dirty.add(facts.owner_uid)
            return False
        return kind == _POD

    # -- rendering ---------------------------------------------------------------------------

    def build(self, deployments: Iterable[Obj], replicasets: Iterable[Obj], pods: Iterable[Obj],
              now: datetime) -> list[Node]:
        self.update(deployments, replicasets, pods, now)
        return self.top_level(self.show_ns)

    def top_level(self, show_ns: bool) -> list[Node]:
        dirty, self._dirty = self._dirty, set()
        top: dict[int, Node] = {}
        nodes = []
        for deployment in self.order:
            node = self.top.get(id(deployment))
            if node is None or self.facts[id(deployment)].uid in dirty:
                node = self.deployment_node(deployment, show_ns)
            top[id(deployment)] = node
            nodes.append(node)
        self.top = top
        if self._groups_dirty:
            self.groups = self.section([], list(self.bare_rs.values()), list(self.bare_pods.values()), "", show_ns)
            self._groups_dirty = False
        return nodes + self.groups

    def section(self, deployments: list[Obj], bare_rs: list[Obj], bare_pods: list[Obj], namespace: str,
                show_ns: bool) -> list[Node]:
        """Deployments of one scope, then its bare-ReplicaSet and bare-Pod groups (if any)."""
        nodes = [self.deployment_node(d, show_ns) for d in sorted_by_ns_name(deployments)]
        scope = f"{namespace}/" if namespace else ""
        rs_children = tuple(self.rs_node(rs, show_ns) for rs in sorted_by_ns_name(bare_rs))
        pod_children = tuple(self.pod_node(p, show_ns) for p in sorted_by_ns_name(bare_pods))
        if rs_children:
            nodes.append(group_node(f"group/{scope}replicasets-without-deployment", BARE_REPLICASETS,
                                     namespace, rs_children))
        if pod_children:
            nodes.append(group_node(f"group/{scope}pods-without-replicaset", BARE_PODS, namespace, pod_children))
        return nodes

    # A node is cached under its kind, object and show_ns, with its children as part of the
    # check: a Deployment's rollout status only reads the ReplicaSets its children were made from.

    def deployment_node(self, deployment: Obj, show_ns: bool) -> Node:
        owned = sorted(self.by_owner[_RS].get(objects.uid(deployment), {}).values(), key=_newest_first)
        children = tuple(self.rs_node(rs, False) for rs in owned)
        slot = (_DEP, id(deployment), show_ns)
        node = self.cache.get(slot, deployment, children)
        if node is None:
            node = _deployment_node(deployment, rollout_status(deployment, owned), self.now, children, show_ns)
            self.cache.put(slot, deployment, children, node)
        return node

    def rs_node(self, rs: Obj, show_ns: bool) -> Node:
        pods = sorted_by_name(self.by_owner[_POD].get(objects.uid(rs), {}).values())
        children = tuple(self.pod_node(p, False) for p in pods)
        slot = (_RS, id(rs), show_ns)
        node = self.cache.get(slot, rs, children)
        if node is None:
            node = self.cache.put(slot, rs, children, _replicaset_node(rs, self.now, children, show_ns))
        return node

    def pod_node(self, pod: Obj, show_ns: bool) -> Node:
        slot = (_POD, id(pod), show_ns)
        node = self.cache.get(slot, pod)
        if node is None:
            node = self.cache.put(slot, pod, (), pod_node(pod, self.now, show_ns))
        return node


def _deployment_node(deployment: Obj, status: RolloutStatus, now: datetime, children: tuple[Node, ...],
                     show_ns: bool) -> Node:
    meta = objects.meta(deployment)
    template_spec = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {})
    images = ",".join(short_image(c.get("image", "")) for c in template_spec.get("containers") or ())
    ready = f"{status.ready}/{status.desired}"
    label = (f"{display_name(deployment, show_ns)}  {ready} ready  up-to-date {status.updated}  "
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
    return object_node("Deployment", deployment, label, health, columns, children)


_STATE_WORDS = {"progressing": "rolling", "failed": "FAILED", "paused": "paused"}
_ROLLOUT_HEALTH: dict[str, Health] = {
    "complete": "ok", "scaled-to-zero": "ok", "progressing": "progressing", "paused": "warning", "failed": "error",
}


def _replicaset_node(rs: Obj, now: datetime, children: tuple[Node, ...], show_ns: bool) -> Node:
    meta = objects.meta(rs)
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
    label = f"rs {display_name(rs, show_ns)}{rev_part}  {images}  {desired}/{current}/{ready}"
    columns = {
        "revision": str(revision),
        "images": images,
        "desired": str(desired),
        "current": str(current),
        "ready": str(ready),
        "age": age(meta.get("creationTimestamp"), now),
    }
    return object_node("ReplicaSet", rs, label, _replicaset_health(rs, desired, current, ready), columns, children)


def _replicaset_health(rs: Obj, desired: int, current: int, ready: int) -> Health:
    if objects.meta(rs).get("deletionTimestamp"):
        return "terminating"
    if any(c.get("type") == "ReplicaFailure" and c.get("status") == "True"
           for c in (rs.get("status") or {}).get("conditions") or ()):
        return "error"
    if desired == 0 and current == 0:
        return "none"  # an old revision kept for rollback
    return "ok" if ready >= desired and current == desired else "progressing"


def _newest_first(rs: Obj) -> tuple[int, float, str]:
    # Revision descending, then creation time descending; the name breaks ties deterministically.
    created = parse_time(objects.meta(rs).get("creationTimestamp"))
    return (-revision_of(rs), -(created.timestamp() if created else 0.0), objects.meta(rs).get("name", ""))
