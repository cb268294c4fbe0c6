"""Decoding LIST pages and watch events: records (core.records) for the kinds that have them.

For a record kind the JSON is split with msgspec (each item's or event object's bytes kept as
they are, never parsed into dicts) and decoded straight into its record; an object that does not
fit its record falls back to the dict path (json + slim), as every other kind takes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import msgspec

from kdash.core.kinds import Kind
from kdash.core.objects import Obj
from kdash.core.records import RECORD_TYPES, decode_record


class _PageMeta(msgspec.Struct, gc=False):
    continue_: str | None = msgspec.field(default=None, name="continue")
    resourceVersion: str | None = None


class _Page(msgspec.Struct):
    metadata: _PageMeta | None = None
    items: list[msgspec.Raw] | None = None


class _Event(msgspec.Struct):
    type: str | None = None
    object: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


_PAGE = msgspec.json.Decoder(_Page)
_EVENT = msgspec.json.Decoder(_Event)


def has_records(kind: Kind) -> bool:
    return kind.name in RECORD_TYPES


def decode_page(kind: Kind, body: bytes, transform: Callable[[Obj], Obj] | None
                ) -> tuple[list[Obj], str | None, str]:
    """One LIST page of a record kind → (objects, continue token, resourceVersion)."""
    page = _PAGE.decode(body)
    items = [_object(kind, bytes(raw), transform) for raw in page.items or ()]
    meta = page.metadata or _PageMeta()
    return items, meta.continue_ or None, str(meta.resourceVersion or "")


def decode_event(kind: Kind, line: bytes | str, transform: Callable[[Obj], Obj]
                 ) -> tuple[str | None, Obj | dict[str, Any]]:
    """One watch event line of a record kind → (type, object); ERROR objects stay plain dicts."""
    event = _EVENT.decode(line)
    raw = bytes(event.object)
    if raw in (b"", b"null"):
        raw = b"{}"  # as `event.get("object") or {}` read it
    if event.type == "ERROR":
        return event.type, json.loads(raw)
    return event.type, _object(kind, raw, transform)


def _object(kind: Kind, raw: bytes, transform: Callable[[Obj], Obj] | None) -> Obj:
    record = decode_record(kind.name, raw)
    if record is not None:
        return cast(Obj, record)  # reads as a Mapping: Record.get/[]/keys
    obj = json.loads(raw)
    return transform(obj) if transform is not None else obj
