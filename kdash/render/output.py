"""`kdash tree -o json|yaml|wide`: the trees' render nodes as data for scripts, or as a wide table."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from kdash.render.tree import Node, flatten
from kdash.safe_text import visible

API_VERSION = "kdash/v1"
"""Bumped only when a field is renamed or removed; new fields may appear within a version."""
WIDE_COLUMNS = ("NAME", "STATUS", "READY", "REVISION", "AGE", "NODE", "IP")
SHORT_KINDS = {"Deployment": "deploy", "ReplicaSet": "rs", "Pod": "pod", "Service": "svc", "StatefulSet": "sts",
               "DaemonSet": "ds", "PersistentVolumeClaim": "pvc", "CronJob": "cj", "Job": "job", "Ingress": "ing"}


def node_data(node: Node) -> dict[str, Any]:
    """kind, namespace, name, health, then the node's display fields as the screen shows them
    (status, ready, revision, images, age, node, ip, …) and its children."""
    data: dict[str, Any] = {"kind": node.kind, "namespace": node.namespace, "name": node.name,
                            "health": node.health}
    data.update(node.columns)
    if node.children:
        data["children"] = [node_data(child) for child in node.children]
    return data


def document(context: str, namespace: str | None, workloads: Sequence[Node],
             services: Sequence[Node]) -> dict[str, Any]:
    return sections_document(context, namespace, {"workloads": workloads, "services": services})


def sections_document(context: str, namespace: str | None, sections: Mapping[str, Sequence[Node]]) -> dict[str, Any]:
    """The trees by view name (workloads, services, jobs, ingresses: those asked for)."""
    data: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "Trees", "context": context, "namespace": namespace}
    data.update({view: [node_data(n) for n in nodes] for view, nodes in sections.items()})
    return data


def render(output: str, context: str, namespace: str | None, workloads: Sequence[Node],
           services: Sequence[Node]) -> str:
    """The text `-o output` prints (json, yaml or wide)."""
    return render_sections(output, context, namespace, {"workloads": workloads, "services": services})


def render_sections(output: str, context: str, namespace: str | None, sections: Mapping[str, Sequence[Node]]) -> str:
    """`render` for any views, in the order given."""
    if output == "wide":
        return wide_table([(view.upper(), nodes) for view, nodes in sections.items()],
                          all_namespaces=namespace is None)
    data = sections_document(context, namespace, sections)
    if output == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def wide_row(depth: int, node: Node) -> tuple[str, ...]:
    """NAME (indented by depth) STATUS READY REVISION AGE NODE IP, from the node's display fields."""
    c = node.columns
    structural = node.kind in ("group", "Namespace", "notice")  # a notice (no object) shows its text
    name = node.label if structural else f"{SHORT_KINDS.get(node.kind, node.kind)}/{node.name}"
    status = "" if structural else c.get("status") or c.get("state") or c.get("type") or node.health
    if node.kind == "ReplicaSet" or node.kind == "DaemonSet":
        ready = f"{c.get('ready')}/{c.get('desired')}"
    elif node.kind == "Service":
        ready = c.get("endpoints", "")
    elif node.kind == "Job":
        ready = c.get("completions", "")
    else:
        ready = c.get("ready", "")
    revision = c.get("revision", "") if c.get("revision") not in (None, "0") else ""
    if node.kind == "Pod" and "endpoint" in c:
        status = f"{status} ({c['endpoint']})"
    cells = ("  " * depth + name, status, ready, revision, c.get("age", ""), c.get("node", ""), c.get("ip", ""))
    return tuple(visible(cell) for cell in cells)


def wide_table(sections: Iterable[tuple[str, Sequence[Node]]], all_namespaces: bool = False) -> str:
    """kubectl's -o wide: one row per node; across namespaces a NAMESPACE column comes first."""
    rows: list[tuple[str, ...]] = [(("NAMESPACE",) if all_namespaces else ()) + WIDE_COLUMNS]
    for title, nodes in sections:
        rows.append((("",) if all_namespaces else ()) + (title,) + ("",) * (len(WIDE_COLUMNS) - 1))
        rows.extend(((visible(node.namespace),) if all_namespaces else ()) + wide_row(depth + 1, node)
                    for depth, node in flatten(nodes))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("   ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows)
