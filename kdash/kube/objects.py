"""Helpers over raw, API-shaped (camelCase) object dicts as the API server sends them."""

from __future__ import annotations

from typing import Any

from kdash.kube.kinds import Kind

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

Obj = dict[str, Any]
Key = tuple[str, str]


def slim(obj: Obj, kind: Kind | None = None) -> Obj:
    """A shallow copy of `obj` without what the UI never shows and what costs memory.

    Drops `metadata.managedFields` and the last-applied-configuration annotation (often the
    biggest parts of an object). Stamps `kind`/`apiVersion` when given, because items of a LIST
    response carry neither.
    """
    slimmed = dict(obj)
    metadata = dict(obj.get("metadata") or {})
    metadata.pop("managedFields", None)
    annotations = metadata.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        metadata["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    slimmed["metadata"] = metadata
    if kind is not None:
        slimmed.setdefault("kind", kind.name)
        slimmed.setdefault("apiVersion", kind.api_version)
    return slimmed


def meta(obj: Obj) -> dict[str, Any]:
    """The object's metadata, {} if absent."""
    return obj.get("metadata") or {}


def name(obj: Obj) -> str:
    return meta(obj).get("name", "")


def namespace(obj: Obj) -> str:
    """The namespace, "" for cluster-scoped objects."""
    return meta(obj).get("namespace") or ""


def key(obj: Obj) -> Key:
    """(namespace, name); the namespace is "" for cluster-scoped objects."""
    metadata = meta(obj)
    return (metadata.get("namespace") or "", metadata.get("name", ""))


def uid(obj: Obj) -> str:
    return meta(obj).get("uid", "")


def resource_version(obj: Obj) -> str:
    return meta(obj).get("resourceVersion", "")


def labels(obj: Obj) -> dict[str, str]:
    return meta(obj).get("labels") or {}


def annotations(obj: Obj) -> dict[str, str]:
    return meta(obj).get("annotations") or {}


def controller_ref(obj: Obj) -> dict[str, Any] | None:
    """The ownerReference marked `controller: true`, if any."""
    for ref in meta(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def owner_uid(obj: Obj) -> str | None:
    """The uid of the controlling owner (Pod → ReplicaSet → Deployment), or None."""
    ref = controller_ref(obj)
    return ref.get("uid") if ref else None


def is_terminating(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def matches_selector(obj: Obj, selector: dict[str, str] | None) -> bool:
    """Equality-map selector match (Service.spec.selector); an empty selector matches nothing."""
    if not selector:
        return False
    obj_labels = labels(obj)
    return all(obj_labels.get(k) == v for k, v in selector.items())
