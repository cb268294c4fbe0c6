"""Accessors over raw, API-shaped (camelCase) object dicts as the API server sends them."""
# No `from __future__ import annotations`: it would be shadowed by the `annotations` accessor.

from collections.abc import Mapping
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

Obj = Mapping[str, Any]
Key = tuple[str, str]


def meta(obj: Obj) -> Mapping[str, Any]:
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
    return meta(obj).get("uid") or ""


def resource_version(obj: Obj) -> str:
    return meta(obj).get("resourceVersion", "")


def labels(obj: Obj) -> Mapping[str, str]:
    return meta(obj).get("labels") or {}


def annotations(obj: Obj) -> Mapping[str, str]:
    return meta(obj).get("annotations") or {}


def controller_ref(obj: Obj) -> Mapping[str, Any] | None:
    """The ownerReference marked `controller: true`, if any."""
    for ref in meta(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def owner_uid(obj: Obj) -> str | None:
    """The uid of the controlling owner (Pod → ReplicaSet → Deployment), or None."""
    ref = controller_ref(obj)
    return ref.get("uid") if ref else None


def is_controlled_by(obj: Obj, owner: str | None) -> bool:
    """metav1.IsControlledBy: a `controller: true` ownerReference with the owner's uid."""
    if not owner:
        return False
    return any(ref.get("controller") and ref.get("uid") == owner for ref in meta(obj).get("ownerReferences") or ())


def is_terminating(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def full(obj: Obj) -> Obj:
    """The whole object as plain JSON data: a store record (core.records) expanded from its JSON,
    a frozen object (core.frozen) thawed, a dict as it is.

    Trees and statuses read the store's objects directly; YAML, describe, diff, edit and writes
    need every field, as dicts and lists, so they go through this.
    """
    from kdash.core.frozen import FrozenMap, thaw
    from kdash.core.records import Record, expand  # records imports this module

    if isinstance(obj, Record):
        return expand(obj)
    return thaw(obj) if type(obj) is FrozenMap else obj
