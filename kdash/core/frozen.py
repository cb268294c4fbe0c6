"""Watched objects of every kind but Pods as immutable JSON that the cyclic garbage collector never walks.

A Deployment, ReplicaSet, EndpointSlice or Event kept as decoded JSON is tens of tracked dicts
and lists, and every full collection walks them all; under churn each write replaces a few of
them. `freeze` turns the same JSON into containers CPython never tracks:

- a JSON object becomes a `FrozenMap`, a `gc=False` msgspec Struct of its values (a tuple), with
  its keys in a `Shape` shared by every object of the same keys;
- a JSON array becomes a tuple.

A tuple is untracked by the first young collection that finds only untracked values in it; a
dict, even one CPython does not track (scalars only, as labels), keeps its tuple tracked, so
there are no dicts in a frozen object.

Every field is kept (unlike the Pod records of core.records, no schema is needed), and a
FrozenMap reads like the dict it came from (`get`, `[]`, `in`, `keys`, `items`, `==` with a
dict). Whatever serializes or edits a whole object (YAML, JSON, diff, edit, writes) asks for
`thaw(obj)` (core.objects.full does), which gives back plain dicts and lists, as do
`copy.deepcopy` (a copy to change) and `copy.copy` (one level).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping
from sys import intern
from typing import Any

import msgspec

_INTERN_MAX = 64  # longer strings (messages, certificates) rarely repeat
_SHAPES_MAX = 8192  # distinct key sets kept shared; past this, shapes are made per object


class Shape(msgspec.Struct, frozen=True, gc=False, eq=False):
    """The keys of a FrozenMap, in the JSON's order, and where each one's value sits."""

    keys: tuple[str, ...]
    index: dict[str, int]


class FrozenMap(msgspec.Struct, frozen=True, gc=False, eq=False):
    """A JSON object, read like a dict."""

    shape: Shape
    vals: tuple[Any, ...]

    def get(self, key: str, default: Any = None) -> Any:
        i = self.shape.index.get(key)
        return default if i is None else self.vals[i]

    def __getitem__(self, key: str) -> Any:
        return self.vals[self.shape.index[key]]

    def __contains__(self, key: object) -> bool:
        return key in self.shape.index

    def keys(self) -> KeysView[str]:
        return self.shape.index.keys()  # a view: set operations work as on a dict's

    def values(self) -> tuple[Any, ...]:
        return self.vals

    def items(self) -> ItemsView[str, Any]:
        # A dict's view (set operations, as `selector.items() <= labels.items()`), built in C.
        return dict(zip(self.shape.keys, self.vals, strict=True)).items()

    def __iter__(self) -> Iterator[str]:
        return iter(self.shape.keys)

    def __len__(self) -> int:
        return len(self.vals)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            if other.shape is self.shape:
                return other.vals == self.vals
            return dict(self.items()) == dict(other.items())  # same keys in another order
        if isinstance(other, Mapping):
            return len(other) == len(self.vals) and all(
                k in other and _equal(v, other[k]) for k, v in self.items())
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]  # equal to dicts, which do not hash

    def __copy__(self) -> dict[str, Any]:
        return dict(zip(self.shape.keys, self.vals, strict=True))

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        # What `copy.deepcopy(obj)` is asked for: a copy to change (a patch, a template to compare).
        return thaw(self)

    def __repr__(self) -> str:
        return f"FrozenMap({dict(self.items())!r})"


Mapping.register(FrozenMap)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality across the frozen and the plain forms (a tuple equals the list it came from)."""
    if isinstance(a, tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, FrozenMap):
        return a == b
    if isinstance(b, FrozenMap | tuple) and not isinstance(a, FrozenMap | tuple):
        return _equal(b, a)
    return bool(a == b)


_shapes: dict[tuple[str, ...], Shape] = {}


def _shape(keys: tuple[str, ...]) -> Shape:
    shape = _shapes.get(keys)
    if shape is None:
        shape = Shape(keys, {k: i for i, k in enumerate(keys)})
        if len(_shapes) < _SHAPES_MAX:
            _shapes[keys] = shape
    return shape


def freeze(value: Any) -> Any:
    """JSON data (dicts, lists, scalars) as containers the collector never walks; short strings
    and every key interned (objects decoded one by one would each hold their own copies)."""
    kind = type(value)
    if kind is dict:
        return FrozenMap(_shape(tuple([intern(k) for k in value])), tuple([freeze(v) for v in value.values()]))
    if kind is list:
        return tuple([freeze(v) for v in value])
    if kind is str and len(value) <= _INTERN_MAX:
        return intern(value)
    return value


def thaw(value: Any) -> Any:
    """Frozen data back as plain JSON data: dicts and lists all the way down."""
    kind = type(value)
    if kind is FrozenMap:
        return {k: thaw(v) for k, v in zip(value.shape.keys, value.vals, strict=True)}
    if kind is tuple or kind is list:
        return [thaw(v) for v in value]
    if kind is dict:
        return {k: thaw(v) for k, v in value.items()}
    return value


def is_frozen(value: object) -> bool:
    return type(value) is FrozenMap
