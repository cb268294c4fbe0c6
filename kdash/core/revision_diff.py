"""What changed between two revisions' pod templates: noise removed, secret-looking values hidden."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kdash.core.objects import full
from kdash.core.rollout import HASH_LABEL

HIDDEN = "<hidden>"
HIDDEN_CHANGED = "<hidden, changed>"
# Env values under names like these are credentials more often than not; a template has no other
# place a Secret's value could be spelled out (secretKeyRef only names the Secret and key).
SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|private[_-]?key|credential)")


def template_of(replicaset: Mapping[str, Any]) -> dict[str, Any]:
    """A ReplicaSet's pod template as compared and shown: no pod-template-hash, secrets hidden."""
    template = ((replicaset.get("spec") or {}).get("template") or {})
    return clean_template(template)


def templates_for_diff(old_rs: Mapping[str, Any], new_rs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both templates cleaned; a hidden value that differs reads HIDDEN_CHANGED on the new side,
    so the change shows without either value."""
    old_rs, new_rs = full(old_rs), full(new_rs)  # store objects are frozen: plain data to change
    old, new = template_of(old_rs), template_of(new_rs)
    raw_old = _env_values((old_rs.get("spec") or {}).get("template") or {})
    raw_new = _env_values((new_rs.get("spec") or {}).get("template") or {})
    for container in new["spec"].get("containers") or ():
        for env in container.get("env") or ():
            key = (container.get("name"), env.get("name"))
            if env.get("value") == HIDDEN and key in raw_old and raw_old[key] != raw_new.get(key):
                env["value"] = HIDDEN_CHANGED
    return old, new


def _env_values(template: Mapping[str, Any]) -> dict[tuple[Any, Any], Any]:
    return {(c.get("name"), e.get("name")): e.get("value") for c in (template.get("spec") or {}).get("containers") or ()
            for e in c.get("env") or ()}


def clean_template(template: Mapping[str, Any]) -> dict[str, Any]:
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    meta = {k: v for k, v in meta.items() if v is not None}  # creationTimestamp: null
    spec = dict(template.get("spec") or {})
    for key in ("containers", "initContainers", "ephemeralContainers"):
        if key in spec:
            spec[key] = [_hide_env(c) for c in spec[key] or ()]
    cleaned: dict[str, Any] = {}
    if meta:
        cleaned["metadata"] = meta
    cleaned["spec"] = spec
    return cleaned


def _hide_env(container: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(container)
    if out.get("env"):
        out["env"] = [dict(e, value=HIDDEN) if "value" in e and SECRET_NAME.search(str(e.get("name", ""))) else e
                      for e in out["env"]]
    return out


def changed_fields(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths of the fields that differ, in a readable form: lists of named items (containers,
    env, ports, volumes) are matched by name, so `spec.containers[app].image` names the change."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(sub)
            else:
                out.extend(changed_fields(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list) and _named(a) and _named(b):
        by_a, by_b = {i["name"]: i for i in a}, {i["name"]: i for i in b}
        out = []
        for name in sorted(set(by_a) | set(by_b)):
            sub = f"{path}[{name}]"
            if name not in by_a or name not in by_b:
                out.append(sub)
            else:
                out.extend(changed_fields(by_a[name], by_b[name], sub))
        if not out and [i["name"] for i in a] != [i["name"] for i in b]:
            out.append(f"{path} (order)")
        return out
    return [] if a == b else [path]


def _named(items: list[Any]) -> bool:
    names = [i.get("name") for i in items if isinstance(i, Mapping)]
    return len(names) == len(items) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
