"""Edit an object as YAML like `kubectl edit`: replace (PUT) with its resourceVersion, dry run first."""

from __future__ import annotations

import difflib
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException

from kdash.actions.apply import parse_manifests
from kdash.actions.http import api_error
from kdash.actions.safety import WriteContext, target_of
from kdash.errors import KdashError
from kdash.kube.kinds import KINDS_BY_NAME

# What a user edits: everything else (status, managedFields, uid...) is the server's.
EDITABLE_METADATA = ("name", "namespace", "labels", "annotations", "resourceVersion")
EDITABLE_BODY = {"ConfigMap": ("data", "binaryData", "immutable")}


def editable(obj: dict[str, Any]) -> dict[str, Any]:
    """The part of the object a user edits, keeping resourceVersion so a concurrent change fails."""
    kind = obj.get("kind", "")
    if kind not in EDITABLE_BODY:
        raise KdashError("Cannot edit", f"editing a {kind or 'object'} is not supported")
    meta = obj.get("metadata") or {}
    out: dict[str, Any] = {"apiVersion": obj.get("apiVersion", "v1"), "kind": kind,
                           "metadata": {k: meta[k] for k in EDITABLE_METADATA if k in meta}}
    out.update({k: obj[k] for k in EDITABLE_BODY[kind] if k in obj})
    return out


def to_text(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True)


def parse_edited(text: str, original: dict[str, Any]) -> dict[str, Any]:
    """The edited object; must still be the same kind, name and namespace (one document)."""
    manifests = parse_manifests(text, source="edited object")
    if len(manifests) != 1:
        raise KdashError("Invalid edit", f"expected one object, found {len(manifests)}")
    edited = manifests[0].doc
    for field in ("kind",):
        if edited.get(field) != original.get(field):
            raise KdashError("Invalid edit", f"{field} cannot change ({original.get(field)} → {edited.get(field)})")
    for field in ("name", "namespace"):
        before, after = original["metadata"].get(field), (edited.get("metadata") or {}).get(field)
        if before != after:
            raise KdashError("Invalid edit", f"metadata.{field} cannot change ({before} → {after})")
    return edited


def replace(ctx: WriteContext, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
    """PUT the object; with dry_run the server validates and returns the result without storing it."""
    kind = KINDS_BY_NAME[obj["kind"]]
    meta = obj["metadata"]
    what = f"{obj['kind']} {meta.get('namespace')}/{meta['name']}"
    with ctx.attempt("edit", target_of(obj["kind"], meta.get("namespace"), meta["name"]), dry_run=dry_run) as attempt:
        try:
            result = attempt.send("PUT", kind.object_path(meta.get("namespace"), meta["name"]), obj)
        except ApiException as exc:
            raise api_error(exc, what) from exc
        attempt.detail = f"resourceVersion {meta.get('resourceVersion')} → {result.get('metadata', {}).get('resourceVersion')}"
    return result


def diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Unified diff of the editable parts, without the resourceVersion that always moves."""
    def lines(obj: dict[str, Any]) -> list[str]:
        view = editable(obj)
        view["metadata"].pop("resourceVersion", None)
        return to_text(view).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(before), lines(after), "live", "edited"))
