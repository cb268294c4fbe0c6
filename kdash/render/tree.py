"""Tree nodes: the keyed, plain node model every view builds, walking and filtering it, shared node builders."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from kdash.core import objects
from kdash.core.labels import Selector, parse_selector
from kdash.core.objects import Obj
from kdash.core.pods import Health
from kdash.render.format import age, human_duration
from kdash.render.pods import PodRow, pod_row

STRUCTURAL_KINDS = frozenset({"group", "Namespace"})
Timed = tuple[int, int, datetime]
"""(start, end, moment): `label[start:end]` is the age of `moment` as of the build."""


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
    children: tuple[Node, ...] = ()
    timed: tuple[Timed, ...] = ()
    """The spans of `label` that are ages; `label_at` moves them to another time."""


def label_at(node: Node, now: datetime) -> str:
    """The node's label with its ages as of `now`: what a widget paints, so that time alone
    never makes the tree re-render (kubectl's age format, see format.human_duration)."""
    label = node.label
    for start, end, moment in reversed(node.timed):
        label = label[:start] + human_duration(now - moment) + label[end:]
    return label


def timed_text(*parts: str | tuple[datetime | None, str]) -> tuple[str, tuple[Timed, ...]]:
    """Join `parts` into a label; a (moment, text) part is an age, recorded as a Timed span."""
    out: list[str] = []
    timed: list[Timed] = []
    position = 0
    for part in parts:
        if isinstance(part, tuple):
            moment, text = part
            if moment is not None:
                timed.append((position, position + len(text), moment))
        else:
            text = part
        out.append(text)
        position += len(text)
    return "".join(out), tuple(timed)



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
            return group_node(node.key, node.columns.get("title", node.name), node.namespace, children)
        return dataclasses.replace(node, children=children)

    return [n for n in (prune(node) for node in nodes) if n is not None]


# ---------------------------------------------------------------------------------------------
# Helpers


def group_node(key: str, title: str, namespace: str, children: tuple[Node, ...]) -> Node:
    return Node(key=key, kind="group", namespace=namespace, name=title, uid="",
                label=f"{title} ({len(children)})", health="none",
                columns={"title": title, "count": str(len(children))}, children=children)


def namespace_node(namespace: str, children: list[Node]) -> Node:
    return Node(key=f"Namespace/{namespace}", kind="Namespace", namespace=namespace, name=namespace, uid="",
                label=f"namespace {namespace}", health="none", children=tuple(children))


def object_node(kind: str, obj: Obj, label: str, health: Health, columns: dict[str, str],
                 children: tuple[Node, ...], key_prefix: str = "", timed: tuple[Timed, ...] = ()) -> Node:
    meta = objects.meta(obj)
    return Node(key=key_prefix + node_key(kind, obj), kind=kind, namespace=objects.namespace(obj),
                name=meta.get("name", ""), uid=objects.uid(obj), label=label, health=health, columns=columns,
                labels=dict(meta.get("labels") or {}), children=children, timed=timed)


def notice_node(name: str, text: str, health: Health) -> Node:
    """A line that is no object (nothing to act on): why the view shows less than expected."""
    return Node(key=f"notice/{name}", kind="notice", namespace="", name="", uid="", label=text, health=health)


def node_key(kind: str, obj: Obj) -> str:
    return f"{kind}/{objects.namespace(obj)}/{objects.meta(obj).get('name', '')}"


def key_text(key: str) -> str:
    """"Pod/ns/name" (or a Service's "Service/ns/svc/Pod/ns/pod") as "Pod ns/name"."""
    parts = key.split("/")
    if parts[0] == "group" or len(parts) < 3:
        return key
    kind, namespace, name = parts[-3:]
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def display_name(obj: Obj, show_ns: bool) -> str:
    name = objects.meta(obj).get("name", "")
    return f"{objects.namespace(obj)}/{name}" if show_ns else name


def group_by_ns(objs: Iterable[Obj]) -> dict[str, list[Obj]]:
    grouped: dict[str, list[Obj]] = {}
    for obj in objs:
        grouped.setdefault(objects.namespace(obj), []).append(obj)
    return grouped


def sorted_by_name(objs: Iterable[Obj]) -> list[Obj]:
    return sorted(objs, key=lambda o: objects.meta(o).get("name", ""))


def sorted_by_ns_name(objs: Iterable[Obj]) -> list[Obj]:
    return sorted(objs, key=lambda o: (objects.namespace(o), objects.meta(o).get("name", "")))


def pod_node(pod: Obj, now: datetime, show_ns: bool, key_prefix: str = "",
              endpoint: str | None = None) -> Node:
    row = pod_row(pod, now)
    columns = pod_columns(row)
    timed: tuple[Timed, ...] = ()
    if endpoint is None:
        restarts: tuple = (row.restarts_text,)
        if row.last_restart is not None:
            restarts = (f"{row.restarts} (", (row.last_restart, age(row.last_restart, now)), " ago)")
        label, timed = timed_text(f"pod {display_name(pod, show_ns)}  {row.status}  {row.ready_text}  ",
                                  *restarts, "  ", (row.created, row.age), f"  {row.node}  {row.ip}")
        health = row.health
    else:
        columns["endpoint"] = endpoint
        label = f"pod {display_name(pod, show_ns)}  {row.status}  {row.ready_text}  {endpoint}"
        # Out of the endpoints is expected while a pod starts or stops; otherwise it is a warning.
        keep = endpoint == "ready" or row.health in ("error", "terminating", "progressing")
        health = row.health if keep else "warning"
    return object_node("Pod", pod, label, health, columns, (), key_prefix, timed)


def pod_columns(row: PodRow) -> dict[str, str]:
    return {
        "status": row.status,
        "ready": row.ready_text,
        "restarts": row.restarts_text,
        "age": row.age,
        "node": row.node,
        "ip": row.ip,
        "images": ",".join(row.images),
    }
