"""The ConfigMap tree: each ConfigMap with the Deployments that consume it and whether they run its data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from kdash.core import objects
from kdash.core.configmaps import restart_plan, stamp_key, template_annotations, wants_auto_restart
from kdash.core.objects import Obj
from kdash.core.pods import Health
from kdash.core.values import parse_time
from kdash.render.format import age, decoded_size, size_text
from kdash.render.tree import Node, timed_text


def build_configmap_tree(configmaps: Iterable[Obj], deployments: Iterable[Obj], now: datetime) -> list[Node]:
    """ConfigMaps by namespace and name; children are consumer Deployments ("used by")."""
    deployments = list(deployments)
    cms = sorted(configmaps, key=lambda c: (objects.meta(c).get("namespace", ""), objects.meta(c).get("name", "")))
    show_ns = len({objects.meta(c).get("namespace") for c in cms}) > 1
    return [_configmap_node(cm, deployments, now, show_ns) for cm in cms]


def _configmap_node(cm: Obj, deployments: list[Obj], now: datetime, show_ns: bool) -> Node:
    meta = objects.meta(cm)
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    plan = restart_plan(dict(cm), deployments)
    key = f"ConfigMap/{ns}/{name}"
    children = tuple(_consumer_node(key, item, name) for item in plan)
    keys = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    size = data_size(cm)
    used = ", ".join(i.consumer.deployment for i in plan) or "no Deployment"
    stale = sum(1 for i in plan if _state(i, name)[0] == "stale")
    created = parse_time(meta.get("creationTimestamp"))
    label, timed = timed_text(f"cm {ns + '/' if show_ns else ''}{name}  {keys} key{'s' if keys != 1 else ''}  "
                              f"{size_text(size)}  ", (created, age(created, now)), f"  used by {used}")
    return Node(key=key, kind="ConfigMap", namespace=ns, name=name, uid=meta.get("uid", ""), label=label,
                health="warning" if stale else "none",
                columns={"keys": str(keys), "used_by": used, "stale": str(stale)},
                labels=dict(meta.get("labels") or {}), children=children, timed=timed)


def data_size(cm: Obj) -> int:
    """Bytes the ConfigMap holds, as `kubectl describe` counts them: UTF-8 bytes of each `data`
    value plus the decoded bytes of each `binaryData` value (the API sends those as base64)."""
    text = sum(len(str(v).encode("utf-8")) for v in (cm.get("data") or {}).values())
    return text + sum(decoded_size(str(v)) for v in (cm.get("binaryData") or {}).values())


def _consumer_node(parent_key: str, item, cm_name: str) -> Node:
    deployment = item.deployment
    meta = objects.meta(deployment)
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    how = ", ".join(item.consumer.how) + (" (optional)" if item.consumer.optional else "")
    state, text = _state(item, cm_name)
    auto = "  auto-restart" if wants_auto_restart(deployment, cm_name) else ""
    health: Health = "warning" if state == "stale" else "ok" if state == "current" else "none"
    return Node(key=f"{parent_key}/Deployment/{ns}/{name}", kind="Deployment", namespace=ns, name=name,
                uid=meta.get("uid", ""), label=f"deploy {name}  via {how}  {text}{auto}",
                health=health, columns={"how": how, "state": state}, labels=dict(meta.get("labels") or {}))


def _state(item, cm_name: str) -> tuple[str, str]:
    """("current"|"stale"|"untracked", words): only a stamp from kdash tells which data a consumer runs."""
    stamp = template_annotations(item.deployment).get(stamp_key(cm_name))
    if stamp is None:
        return "untracked", "not restarted by kdash yet"
    return ("stale", "restart pending: runs older data") if item.needed else ("current", "runs this data")
