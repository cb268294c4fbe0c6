"""Edit an object as YAML like `kubectl edit`: send only what the user changed, against the version read."""

from __future__ import annotations

from typing import Any

import yaml

from kdash.actions.apply import parse_manifests
from kdash.actions.diff import object_diff
from kdash.actions.http import MERGE_PATCH, api_error, changed_meanwhile
from kdash.actions.safety import WriteContext, target_of
from kdash.core import objects
from kdash.core.kinds import KINDS_BY_NAME
from kdash.core.objects import LAST_APPLIED
from kdash.errors import ApiException, KdashError
from kdash.kube.api import ApiClient
from kdash.kube.client import get_json

# What a user edits; everything else (ownerReferences, finalizers, status...) is left as it is.
EDITABLE_METADATA = ("name", "namespace", "labels", "annotations")
EDITABLE_BODY = {"ConfigMap": ("data", "binaryData", "immutable")}


def fetch(api_client: ApiClient, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
    """The whole live object from the API (the store keeps a slimmed copy)."""
    if kind not in EDITABLE_BODY:
        raise KdashError("Cannot edit", f"editing a {kind or 'object'} is not supported")
    what = f"{kind} {namespace}/{name}"
    try:
        return get_json(api_client, KINDS_BY_NAME[kind].object_path(namespace, name))
    except Exception as exc:
        raise api_error(exc, what) from exc


def editable(obj: dict[str, Any]) -> dict[str, Any]:
    """The part of the object a user edits."""
    kind = obj.get("kind", "")
    if kind not in EDITABLE_BODY:
        raise KdashError("Cannot edit", f"editing a {kind or 'object'} is not supported")
    meta = objects.meta(obj)
    out: dict[str, Any] = {"apiVersion": obj.get("apiVersion", "v1"), "kind": kind,
                           "metadata": {k: meta[k] for k in EDITABLE_METADATA if k in meta}}
    annotations = out["metadata"].get("annotations")
    if annotations and LAST_APPLIED in annotations:  # kubectl apply's bookkeeping, often huge
        out["metadata"]["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    out.update({k: obj[k] for k in EDITABLE_BODY[kind] if k in obj})
    return out


def to_text(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True)


def document(live: dict[str, Any], body: str | None = None, error: str = "") -> str:
    """What the editor opens: a comment header (`error` on top, if any), then `body` (by default
    the editable YAML of `live`)."""
    meta = live["metadata"]
    lines = [f"# ERROR: {line}" for line in error.splitlines()]
    if error:
        lines += ["# Fix it and save again; save it unchanged or empty to cancel.", "#"]
    lines += [
        f"# Edit {live['kind']} {meta.get('namespace')}/{meta['name']} (resourceVersion "
        f"{meta.get('resourceVersion')}), then save and quit.",
        "# Only what you change is sent; fields not shown (ownerReferences, finalizers, ...) stay as they are.",
        "# If it changes meanwhile, the edit is refused. An unchanged or empty file cancels.",
    ]
    return "\n".join(lines) + "\n" + (to_text(editable(live)) if body is None else body)


def user_text(text: str) -> str:
    """The edited text without the comment header `document` put on top."""
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


def parse_edited(text: str, live: dict[str, Any]) -> dict[str, Any] | None:
    """The edited object (None when the text is empty); same kind, name and namespace, one document."""
    manifests = parse_manifests(text, source="edited object")
    if not manifests:
        return None
    if len(manifests) != 1:
        raise KdashError("Invalid edit", f"expected one object, found {len(manifests)}")
    edited = manifests[0].doc
    for field in ("apiVersion", "kind"):
        if edited.get(field) != live.get(field):
            raise KdashError("Invalid edit", f"{field} cannot change ({live.get(field)} → {edited.get(field)})")
    for field in ("name", "namespace"):
        before, after = live["metadata"].get(field), objects.meta(edited).get(field)
        if before != after:
            raise KdashError("Invalid edit", f"metadata.{field} cannot change ({before} → {after})")
    return edited


def merge_patch(before: Any, after: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns `before` into `after`; {} when they are equal."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return after
    patch: dict[str, Any] = {key: None for key in before if key not in after}
    for key, value in after.items():
        if key not in before:
            patch[key] = value
        elif before[key] != value:
            patch[key] = merge_patch(before[key], value) if isinstance(value, dict) else value
    return patch


def patch_for(live: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any] | None:
    """What to send: the user's changes plus the resourceVersion read, so a concurrent change
    fails with 409 instead of being overwritten; None when nothing changed."""
    patch = merge_patch(editable(live), edited)
    if not patch:
        return None
    patch.setdefault("metadata", {})["resourceVersion"] = live["metadata"]["resourceVersion"]
    return patch


def save(ctx: WriteContext, live: dict[str, Any], patch: dict[str, Any], *,
         dry_run: bool = False) -> dict[str, Any]:
    """PATCH (merge) the object; with dry_run the server checks it and returns the result unstored."""
    meta = live["metadata"]
    kind, namespace, name = live["kind"], meta.get("namespace"), meta["name"]
    what = f"{kind} {namespace}/{name}"
    with ctx.attempt("edit", target_of(kind, namespace, name), dry_run=dry_run) as attempt:
        try:
            result = attempt.send("PATCH", KINDS_BY_NAME[kind].object_path(namespace, name), patch,
                                  content_type=MERGE_PATCH)
        except ApiException as exc:
            raise api_error(exc, what, conflict=f"{changed_meanwhile(what)} (press e to edit the "
                                                "current version)") from exc
        attempt.detail = (f"{', '.join(_changed_fields(patch))}; resourceVersion "
                          f"{meta.get('resourceVersion')} → {result.get('metadata', {}).get('resourceVersion')}")
    return result


def _changed_fields(patch: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths the patch touches, for the audit line (never the values)."""
    fields = []
    for key, value in patch.items():
        path = f"{prefix}{key}"
        if path == "metadata.resourceVersion":
            continue
        if isinstance(value, dict) and value:
            fields += _changed_fields(value, f"{path}.")
        else:
            fields.append(path)
    return fields


def diff(live: dict[str, Any], result: dict[str, Any]) -> str:
    """Unified diff of the whole object before and after (server-maintained metadata left out)."""
    meta = live["metadata"]
    return object_diff(live, result, target_of(live["kind"], meta.get("namespace"), meta["name"]), "edited")
