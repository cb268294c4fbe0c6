"""The StatefulSet tree: set → pods in ordinal order (revision, partition) → their claims."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from kdash.core import objects
from kdash.core import pods as core_pods
from kdash.core import statefulsets as core_sts
from kdash.core.objects import Obj
from kdash.core.pods import Health
from kdash.core.revisions import owned_revisions, revision_keys, revision_number
from kdash.core.rollout import container_images
from kdash.core.statefulsets import StatefulSetStatus
from kdash.render.format import NONE, age
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

_STATE_WORDS = {"progressing": "rolling", "staged": "staged", "on-delete": "OnDelete: delete pods to update",
                "observing": "observing"}
_HEALTH: dict[str, Health] = {"complete": "ok", "scaled-to-zero": "ok", "progressing": "progressing",
                              "staged": "warning", "on-delete": "warning", "observing": "progressing"}


def build_statefulset_tree(statefulsets: Iterable[Obj], pods: Iterable[Obj], claims: Iterable[Obj],
                           revisions: Iterable[Obj], now: datetime, *, by_namespace: bool = False,
                           cache: NodeMemo | None = None) -> list[Node]:
    """StatefulSets → their pods by ordinal (a line for each ordinal not created yet) → the
    PersistentVolumeClaims of each ordinal's volumeClaimTemplates, with their phase.

    With a `cache` (a NodeMemo kept between builds), a set whose objects are all the very same
    objects as last time comes back as the same Node (see render/tree.py NodeMemo)."""
    statefulsets = list(statefulsets)
    pods_by_owner: dict[str, list[Obj]] = {}
    for pod in pods:
        owner = objects.owner_uid(pod)
        if owner:
            pods_by_owner.setdefault(owner, []).append(pod)
    claims_by_key = {objects.key(c): c for c in claims}
    revisions_by_owner: dict[str, list[Obj]] = {}
    for revision in revisions:
        owner = objects.owner_uid(revision)
        if owner:
            revisions_by_owner.setdefault(owner, []).append(revision)

    def one(sts: Obj, show_ns: bool) -> Node:
        uid = objects.uid(sts)
        owned_pods, owned_revisions = pods_by_owner.get(uid, ()), revisions_by_owner.get(uid, ())
        if cache is None:
            return statefulset_node(sts, owned_pods, claims_by_key, owned_revisions, now, show_ns)
        wanted = [claims_by_key.get((objects.namespace(sts), name))
                  for number in range(core_sts.replicas(sts)) for name in core_sts.claim_names(sts, number)]
        return cache.node(uid, (sts, show_ns, *owned_pods, *owned_revisions, *wanted),
                          lambda: statefulset_node(sts, owned_pods, claims_by_key, owned_revisions, now, show_ns))

    if by_namespace:
        nodes = [namespace_node(ns, [one(s, False) for s in sorted_by_name(in_ns)])
                 for ns, in_ns in sorted(group_by_ns(statefulsets).items())]
    else:
        show_ns = len({objects.namespace(s) for s in statefulsets}) > 1
        nodes = [one(s, show_ns) for s in sorted_by_ns_name(statefulsets)]
    if cache is not None:
        cache.sweep()
    return nodes


def statefulset_node(sts: Obj, pods: Iterable[Obj], claims: Mapping[tuple[str, str], Obj],
                     revisions: Iterable[Obj], now: datetime, show_ns: bool) -> Node:
    status = core_sts.statefulset_status(sts)
    owned = owned_revisions(sts, revisions)
    numbers = {key: revision_number(r) for r in owned for key in revision_keys(r)}
    key = node_key("StatefulSet", sts)
    by_ordinal = core_sts.owned_pods(sts, pods)
    present = {number for number, _ in by_ordinal}
    children = [_pod_node(sts, status, number, pod, claims, numbers, now, key) for number, pod in by_ordinal]
    for number in range(status.desired):
        if number not in present:
            children.append(_missing_node(sts, status, number, claims, key))
    children.sort(key=lambda n: (n.columns.get("ordinal", "") == "", int(n.columns.get("ordinal") or -1)))
    return _set_node(sts, status, numbers, now, tuple(children), show_ns)


def _set_node(sts: Obj, status: StatefulSetStatus, numbers: Mapping[str, int], now: datetime,
              children: tuple[Node, ...], show_ns: bool) -> Node:
    meta = objects.meta(sts)
    template_spec = (((sts.get("spec") or {}).get("template") or {}).get("spec")) or {}
    images = ",".join(container_images(template_spec))
    revision = numbers.get(status.update_revision, 0)
    current = numbers.get(status.current_revision, 0)
    ready = f"{status.ready}/{status.desired}"
    label = f"sts {display_name(sts, show_ns)}  {ready} ready  updated {status.updated}/{status.desired}"
    if status.partition:
        label += f"  partition {status.partition}"
    if revision:
        label += f"  rev {current}→{revision}" if current and current != revision else f"  rev {revision}"
    if status.state not in ("complete", "scaled-to-zero"):
        label += f"  {_STATE_WORDS[status.state]}"
    columns = {
        "ready": ready,
        "up_to_date": str(status.updated),
        "current": str(status.current_replicas),
        "partition": str(status.partition),
        "strategy": status.strategy,
        "current_revision": status.current_revision or NONE,
        "update_revision": status.update_revision or NONE,
        "revision": str(revision),
        "images": images,
        "state": status.state,
        "rollout": status.summary,
        "message": status.message,
        "age": age(meta.get("creationTimestamp"), now),
    }
    health: Health = "terminating" if meta.get("deletionTimestamp") else _HEALTH[status.state]
    return object_node("StatefulSet", sts, label, health, columns, children)


def _pod_node(sts: Obj, status: StatefulSetStatus, number: int, pod: Obj, claims: Mapping[tuple[str, str], Obj],
              numbers: Mapping[str, int], now: datetime, prefix: str) -> Node:
    row = pod_row(pod, now)
    columns = pod_columns(row)
    which = core_sts.pod_revision(status, pod)
    pod_hash = objects.labels(pod).get("controller-revision-hash", "")
    rev = numbers.get(pod_hash, 0)
    rev_text = f"rev {rev}" if rev else "rev ?"
    note = _revision_note(status, number, which)
    claim_nodes = _claim_nodes(sts, number, pod, claims, prefix + "/" + node_key("Pod", pod))
    waiting = _claim_wait(pod, claim_nodes)
    restarts: tuple = (row.restarts_text,)
    if row.last_restart is not None:
        restarts = (f"{row.restarts} (", (row.last_restart, age(row.last_restart, now)), " ago)")
    parts: list[str | tuple[datetime | None, str]] = [
        f"pod {objects.name(pod)}  {row.status}  {row.ready_text}  {rev_text}{f' ({note})' if note else ''}  ",
        *restarts, "  ", (row.created, row.age)]
    if waiting:
        parts.append(f"  {waiting}")
    elif row.node != NONE:
        parts.append(f"  {row.node}")
    label, timed = timed_text(*parts)
    columns.update({"ordinal": str(number) if number >= 0 else "", "revision": str(rev), "revision_state": which,
                    "revision_note": note, "waiting": waiting})
    health = row.health
    if waiting and health != "terminating":
        health = "warning"
    return object_node("Pod", pod, label, health, columns, tuple(claim_nodes), prefix + "/", timed)


def _revision_note(status: StatefulSetStatus, number: int, which: str) -> str:
    """Why a pod is on the revision it is on, while the set's two revisions differ."""
    if not status.update_revision or status.update_revision == status.current_revision or which == "update":
        return ""
    if core_sts.held_by_partition(status, number):
        return f"held by partition {status.partition}"
    if status.strategy == core_sts.ON_DELETE:
        return "old: delete to update"
    return "to update"


def _claim_wait(pod: Obj, claim_nodes: list[Node]) -> str:
    """"unbound claim X (Pending)" for an unscheduled pod whose claim is not Bound."""
    if core_pods.node_name(pod):
        return ""
    unbound = [n for n in claim_nodes if n.columns.get("phase") != "Bound"]
    if not unbound:
        return ""
    first = unbound[0]
    return f"unbound claim {first.name} ({first.columns.get('phase')})"


def _claim_nodes(sts: Obj, number: int, pod: Obj | None, claims: Mapping[tuple[str, str], Obj],
                 prefix: str) -> list[Node]:
    namespace = objects.namespace(sts)
    names = list(core_sts.claim_names(sts, number)) if number >= 0 else []
    if pod is not None:
        names += [n for n in core_pods.claim_names(pod) if n not in names]
    return [_claim_node(namespace, name, claims.get((namespace, name)), prefix) for name in names]


def _claim_node(namespace: str, name: str, claim: Obj | None, prefix: str) -> Node:
    key = f"{prefix}/PersistentVolumeClaim/{namespace}/{name}"
    if claim is None:
        return Node(key=key, kind="notice", namespace=namespace, name="", uid="",
                    label=f"pvc {name}  not created", health="progressing",
                    columns={"phase": "not created", "claim": name})
    spec = claim.get("spec") or {}
    status = claim.get("status") or {}
    phase = status.get("phase") or "Pending"
    capacity = (status.get("capacity") or {}).get("storage") or ((spec.get("resources") or {}).get("requests")
                                                                 or {}).get("storage") or ""
    storage_class = spec.get("storageClassName") or NONE
    if phase == "Bound":
        label = f"pvc {name}  Bound  {spec.get('volumeName') or NONE}  {capacity}"
    else:
        label = f"pvc {name}  {phase}  no volume bound (class {storage_class})"
    columns = {"phase": phase, "volume": spec.get("volumeName") or NONE, "capacity": capacity,
               "storage_class": storage_class, "status": phase}
    health: Health = "ok" if phase == "Bound" else "error" if phase == "Lost" else "warning"
    return Node(key=key, kind="PersistentVolumeClaim", namespace=namespace, name=name, uid=objects.uid(claim),
                label=label, health=health, columns=columns, labels=dict(objects.labels(claim)))


def _missing_node(sts: Obj, status: StatefulSetStatus, number: int, claims: Mapping[tuple[str, str], Obj],
                  prefix: str) -> Node:
    """An ordinal below spec.replicas without a pod: not created yet (OrderedReady makes them one
    at a time, each after the previous is Ready), or deleted and about to be made again."""
    name = f"{objects.name(sts)}-{number}"
    key = f"{prefix}/Pod/{objects.namespace(sts)}/{name}"
    ordered = ((sts.get("spec") or {}).get("podManagementPolicy") or "OrderedReady") == "OrderedReady"
    why = f"waits for {objects.name(sts)}-{number - 1} to be Ready" if ordered and number else "not created yet"
    return Node(key=key, kind="notice", namespace=objects.namespace(sts),
                name="", uid="", label=f"pod {name}  no pod: {why}",
                health="progressing" if status.state != "complete" else "warning",
                columns={"ordinal": str(number), "status": "no pod", "waiting": why},
                children=tuple(_claim_nodes(sts, number, None, claims, key)))
