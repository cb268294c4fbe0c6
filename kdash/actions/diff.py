"""How a write reads: a unified YAML diff of the whole object before and after, Secret values masked."""

from __future__ import annotations

import difflib
from typing import Any

import yaml

from kdash.core import objects
from kdash.core.objects import LAST_APPLIED

# Server-maintained fields that differ on every write and say nothing about the change.
_NOISY_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")
_MASK = "***"


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without status and server-maintained metadata."""
    result = {k: v for k, v in obj.items() if k != "status"}
    result["metadata"] = {k: v for k, v in objects.meta(obj).items() if k not in _NOISY_METADATA}
    return result


def object_diff(live: dict[str, Any] | None, after: dict[str, Any], target: str, verb: str = "applied") -> str:
    """Unified YAML diff of a whole object before and after a write, without status and
    server-maintained metadata; Secret values masked."""
    before = comparable(live) if live is not None else None
    compared = comparable(after)
    if "Secret" in (after.get("kind"), (live or {}).get("kind"), target.split("/")[0]):
        before, compared = _masked(before, compared)
    lines = difflib.unified_diff(
        _yaml_lines(before), _yaml_lines(compared),
        fromfile=f"live {target}" if live is not None else "(absent)",
        tofile=f"{verb} {target}", lineterm="")
    return "\n".join(lines)


def _yaml_lines(obj: dict[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True).splitlines()


def _masked(before: dict[str, Any] | None,
            after: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Secret values hidden like `kubectl diff`: "***", or "*** (before)"/"*** (after)" when they differ."""
    old = (before or {}).get("data") or {}
    new = after.get("data") or {}
    masked_old = {k: _MASK if new.get(k) == v else f"{_MASK} (before)" for k, v in old.items()}
    masked_new = {k: _MASK if old.get(k) == v else f"{_MASK} (after)" for k, v in new.items()}
    if before is not None and "data" in before:
        before = dict(before, data=masked_old)
    if "data" in after:
        after = dict(after, data=masked_new)
    return (_mask_last_applied(before) if before is not None else None), _mask_last_applied(after)


def _mask_last_applied(obj: dict[str, Any]) -> dict[str, Any]:
    # kubectl's client-side apply keeps a Secret's whole data in this annotation.
    annotations = objects.annotations(obj)
    if LAST_APPLIED not in annotations:
        return obj
    metadata = dict(obj["metadata"], annotations=dict(annotations, **{LAST_APPLIED: _MASK}))
    return dict(obj, metadata=metadata)
