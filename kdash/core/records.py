"""Slim, immutable records of watched Pods that the cyclic garbage collector never walks.

A Pod stored as decoded JSON is ~30 tracked containers (dicts and lists) that every full
collection walks. A record is a tree of frozen `gc=False` msgspec Structs (never tracked),
tuples (untracked by the first young collection that sees them) and dicts that hold only
strings, numbers and None (labels, and the container states' TypedDicts below: CPython never
tracks a dict without a container in it, and they read at dict speed; a tuple holding a dict
stays tracked, so what sits in tuples is a Struct), plus the object's JSON bytes (never tracked)
for the full object on demand (`expand`). The TypedDicts keep only their listed keys.

The classes below are the schema of what kdash reads from a Pod: the trees, statuses, selectors,
logs and port-forwards read only these fields, through the same `get`/`[]` calls as on a dict.
A field outside the schema reads as absent, so whatever shows or writes the whole object (YAML,
describe, diff, edit) asks for `expand(record)` (core.objects.full). Unknown fields in the JSON are
skipped; a value of an unexpected type fails the record, and the object is stored as a dict
(decode_record returns None), so decoding never breaks where plain JSON did not.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from types import MethodType
from typing import Any, TypedDict

import msgspec
from msgspec import UNSET, Struct, UnsetType

from kdash.core.objects import LAST_APPLIED

Str = str | None | UnsetType
Int = int | None | UnsetType
Bool = bool | None | UnsetType
StrMap = dict[str, str] | None | UnsetType


_HIDDEN = frozenset({"raw", "managed_fields_"})  # fields of ours, not of the object

# Tests set this: reading a field the schema does not keep fails loudly instead of reading absent.
STRICT = os.environ.get("KDASH_STRICT_RECORDS") == "1"
_noted: set[tuple[str, str]] = set()
log = logging.getLogger(__name__)


class OutsideSchema(LookupError):
    """A field the record does not keep was read: add it to the schema, or read full(obj)."""


def _outside_schema(record: Record, key: str) -> None:
    if key == "managedFields":
        return  # dropped on purpose, as kube.objects.slim drops it: absent, as in the store's dicts
    message = (f"{type(record).__name__} keeps no {key!r}: add it to kdash/core/records.py's schema "
               "or read the whole object with core.objects.full()")
    if STRICT:
        raise OutsideSchema(message)
    if (type(record).__name__, key) not in _noted:
        _noted.add((type(record).__name__, key))
        log.warning(message)


class Record(Struct, frozen=True, gc=False):
    """Read like the API's JSON dict: `get`, `[]`, `in`, `keys`, `items`; unset fields are absent."""

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, UNSET)
        if value is UNSET or type(value) is MethodType:  # absent, or not a field ("items" is a method)
            if key not in self.__struct_fields__:
                _outside_schema(self, key)
            return default
        return value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, UNSET)
        if value is UNSET:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key not in _HIDDEN and self.get(key, UNSET) is not UNSET

    def keys(self) -> list[str]:
        return [k for k, _ in self._fields()]

    def _fields(self) -> list[tuple[str, str]]:
        """(JSON key, attribute) of the set fields; they differ where a key would shadow a method."""
        return [(key, attr) for attr, key in zip(self.__struct_fields__, self.__struct_encode_fields__, strict=True)
                if attr not in _HIDDEN and getattr(self, attr) is not UNSET]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __bool__(self) -> bool:  # an empty JSON object is falsy, so `x.get("state") or {}` reads the same
        for k in self.__struct_fields__:  # noqa: SIM110 - a loop: any() over a generator is slower here
            if getattr(self, k) is not UNSET and k not in _HIDDEN:
                return True
        return False

    def __len__(self) -> int:
        return len(self.keys())

    def items(self) -> list[tuple[str, Any]]:
        return [(key, getattr(self, attr)) for key, attr in self._fields()]

    def values(self) -> list[Any]:
        return [getattr(self, attr) for _, attr in self._fields()]


class OwnerReference(Record, frozen=True, gc=False):
    apiVersion: Str = UNSET
    kind: Str = UNSET
    name: Str = UNSET
    uid: Str = UNSET
    controller: Bool = UNSET
    blockOwnerDeletion: Bool = UNSET


class ObjectMeta(Record, frozen=True, gc=False):
    name: Str = UNSET
    generateName: Str = UNSET
    namespace: Str = UNSET
    uid: Str = UNSET
    resourceVersion: Str = UNSET
    generation: Int = UNSET
    creationTimestamp: Str = UNSET
    deletionTimestamp: Str = UNSET
    deletionGracePeriodSeconds: Int = UNSET
    labels: StrMap = UNSET
    annotations: StrMap = UNSET
    ownerReferences: tuple[OwnerReference, ...] | None | UnsetType = UNSET
    finalizers: tuple[str, ...] | None | UnsetType = UNSET
    # Only located, to be cut from the kept JSON (decode_record), then emptied: never shown.
    managed_fields_: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw, name="managedFields")


class ContainerPort(Record, frozen=True, gc=False):
    name: Str = UNSET
    containerPort: Int = UNSET
    protocol: Str = UNSET
    hostPort: Int = UNSET


class Container(Record, frozen=True, gc=False):
    name: Str = UNSET
    image: Str = UNSET
    imagePullPolicy: Str = UNSET
    restartPolicy: Str = UNSET
    ports: tuple[ContainerPort, ...] | None | UnsetType = UNSET


class ClaimSource(Record, frozen=True, gc=False):
    claimName: Str = UNSET
    readOnly: Bool = UNSET


class Volume(Record, frozen=True, gc=False):
    """Only what the StatefulSet tree reads: which claims a pod uses."""

    name: Str = UNSET
    persistentVolumeClaim: ClaimSource | None | UnsetType = UNSET


class NodeSelectorRequirement(Record, frozen=True, gc=False):
    key: Str = UNSET
    operator: Str = UNSET
    # "values" would shadow Record.values(): the JSON key is kept under another attribute name.
    values_: tuple[str, ...] | None | UnsetType = msgspec.field(default=UNSET, name="values")

    def get(self, key: str, default: Any = None) -> Any:
        if key == "values":
            return default if self.values_ is UNSET else self.values_
        return super().get(key, default)


class NodeSelectorTerm(Record, frozen=True, gc=False):
    matchExpressions: tuple[NodeSelectorRequirement, ...] | None | UnsetType = UNSET
    matchFields: tuple[NodeSelectorRequirement, ...] | None | UnsetType = UNSET


class NodeSelector(Record, frozen=True, gc=False):
    nodeSelectorTerms: tuple[NodeSelectorTerm, ...] | None | UnsetType = UNSET


class NodeAffinity(Record, frozen=True, gc=False):
    requiredDuringSchedulingIgnoredDuringExecution: NodeSelector | None | UnsetType = UNSET


class Affinity(Record, frozen=True, gc=False):
    """Only the required node affinity: a DaemonSet pod waiting for the scheduler names its node there."""

    nodeAffinity: NodeAffinity | None | UnsetType = UNSET


class PodSpec(Record, frozen=True, gc=False):
    nodeName: Str = UNSET
    volumes: tuple[Volume, ...] | None | UnsetType = UNSET
    affinity: Affinity | None | UnsetType = UNSET
    containers: tuple[Container, ...] | None | UnsetType = UNSET
    initContainers: tuple[Container, ...] | None | UnsetType = UNSET
    restartPolicy: Str = UNSET
    serviceAccountName: Str = UNSET
    schedulerName: Str = UNSET
    priority: Int = UNSET


class Waiting(TypedDict, total=False):
    reason: str | None
    message: str | None


class Running(TypedDict, total=False):
    startedAt: str | None


class Terminated(TypedDict, total=False):
    exitCode: int | None
    signal: int | None
    reason: str | None
    message: str | None
    startedAt: str | None
    finishedAt: str | None
    containerID: str | None


class ContainerState(Record, frozen=True, gc=False):
    waiting: Waiting | None | UnsetType = UNSET
    running: Running | None | UnsetType = UNSET
    terminated: Terminated | None | UnsetType = UNSET


class ContainerStatus(Record, frozen=True, gc=False):
    name: Str = UNSET
    image: Str = UNSET
    imageID: Str = UNSET
    containerID: Str = UNSET
    ready: Bool = UNSET
    started: Bool = UNSET
    restartCount: Int = UNSET
    state: ContainerState | None | UnsetType = UNSET
    lastState: ContainerState | None | UnsetType = UNSET


class PodCondition(Record, frozen=True, gc=False):
    type: Str = UNSET
    status: Str = UNSET
    reason: Str = UNSET
    message: Str = UNSET
    lastTransitionTime: Str = UNSET
    lastProbeTime: Str = UNSET


class PodIP(Record, frozen=True, gc=False):
    ip: Str = UNSET


class PodStatus(Record, frozen=True, gc=False):
    phase: Str = UNSET
    reason: Str = UNSET
    message: Str = UNSET
    podIP: Str = UNSET
    podIPs: tuple[PodIP, ...] | None | UnsetType = UNSET
    hostIP: Str = UNSET
    startTime: Str = UNSET
    qosClass: Str = UNSET
    nominatedNodeName: Str = UNSET
    conditions: tuple[PodCondition, ...] | None | UnsetType = UNSET
    containerStatuses: tuple[ContainerStatus, ...] | None | UnsetType = UNSET
    initContainerStatuses: tuple[ContainerStatus, ...] | None | UnsetType = UNSET
    resize: Any = UNSET  # 1.27-1.32 in-place resize state (core.pods.resize_status); any type, as read


class PodRecord(Record, frozen=True, gc=False):
    """A Pod as the store keeps it; `raw` is its JSON (set by decode_record, never by the JSON)."""

    apiVersion: Str = "v1"  # LIST items carry neither: stamped, as kube.objects.slim does
    kind: Str = "Pod"
    metadata: ObjectMeta | None | UnsetType = UNSET
    spec: PodSpec | None | UnsetType = UNSET
    status: PodStatus | None | UnsetType = UNSET
    raw: bytes = b""


RECORD_TYPES: dict[str, type[Record]] = {"Pod": PodRecord}
"""Kinds the store keeps as records (the high-count ones); every other kind stays a dict."""

_DECODERS = {kind: msgspec.json.Decoder(record_type) for kind, record_type in RECORD_TYPES.items()}


def decode_record(kind: str, raw: bytes) -> Record | None:
    """The record of one object's JSON, or None if its kind has none or the JSON does not fit."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        return None
    try:
        record = decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    metadata = record.get("metadata")
    if metadata:
        raw = _without_managed_fields(raw, metadata)
    msgspec.structs.force_setattr(record, "raw", raw)
    annotations = metadata.get("annotations") if metadata else None
    if annotations and LAST_APPLIED in annotations:  # as kube.objects.slim drops it
        msgspec.structs.force_setattr(metadata, "annotations",
                                      {k: v for k, v in annotations.items() if k != LAST_APPLIED})
    return record


_MANAGED = b'"managedFields":'


def _without_managed_fields(raw: bytes, metadata: ObjectMeta) -> bytes:
    """`raw` without metadata.managedFields (often a third of a Pod's JSON; slim drops it too)."""
    managed = bytes(metadata.managed_fields_)
    msgspec.structs.force_setattr(metadata, "managed_fields_", _EMPTY_RAW)
    if not managed:
        return raw
    start = raw.find(_MANAGED)
    end = start + len(_MANAGED)
    if start < 0 or raw[end:end + len(managed)] != managed:
        return raw  # not as the apiserver writes it (spaces, escapes): keep it; expand drops it
    end += len(managed)
    if raw[end:end + 1] == b",":
        end += 1  # "managedFields":[...],"next":...
    elif raw[start - 1:start] == b",":
        start -= 1  # ...,"managedFields":[...]}
    return raw[:start] + raw[end:]


_EMPTY_RAW = msgspec.Raw()


def is_record(obj: object) -> bool:
    return isinstance(obj, Record)


def expand(record: Record) -> dict[str, Any]:
    """The full object the record came from, as the store kept it before (kube.objects.slim)."""
    obj = json.loads(getattr(record, "raw", b"") or b"{}")
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if annotations and LAST_APPLIED in annotations:
            metadata["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    for field in ("kind", "apiVersion"):
        if field not in obj and record.get(field) is not None:
            obj[field] = record.get(field)
    return obj


def to_builtins(value: Any) -> Any:
    """A record (or anything holding records) as plain JSON data: dicts, lists, scalars."""
    if isinstance(value, Record):
        return {k: to_builtins(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_builtins(v) for v in value]
    if isinstance(value, dict):
        return {k: to_builtins(v) for k, v in value.items()}
    return value
