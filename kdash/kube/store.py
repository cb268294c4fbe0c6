"""Thread-safe cache of watched objects with owner and uid indexes and change versions."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from kdash.core.frozen import freeze
from kdash.core.kinds import KINDS_BY_NAME
from kdash.core.labels import matches_selector
from kdash.core.objects import Key, Obj, key, owner_uid, resource_version, uid

# Event types a reflector hands to Store.apply.
ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


FEED_LIMIT = 2000  # pending changes a feed holds per kind before it asks for a full list instead


class ChangeFeed:
    """The changes of some kinds since the consumer last drained it (see Store.feed).

    A consumer that keeps derived state (indexes, rendered nodes) asks for what changed instead
    of diffing every object on each flush. Entries are (old, new) object pairs: (None, obj)
    added, (obj, obj2) replaced, (obj, None) removed. A feed that is not drained for a while
    (its view is hidden) drops its entries past FEED_LIMIT and hands out a full list next time,
    so it never holds more than that many replaced objects alive.
    """

    def __init__(self, kinds: Iterable[str], limit: int = FEED_LIMIT) -> None:
        self.kinds = frozenset(kinds)
        self.limit = limit
        self._pending: dict[str, list[tuple[Obj | None, Obj | None]] | None] = dict.fromkeys(self.kinds)

    def _note(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        pending = self._pending[kind]
        if pending is not None:
            if len(pending) >= self.limit:
                self._pending[kind] = None  # too far behind: a full list next time
            else:
                pending.append((old, new))


@dataclass(frozen=True)
class Drained:
    """One kind's part of Store.drain: the changes since the last drain, or (first, or after
    falling behind) every object, consistent with the changes the next drain will bring."""

    changes: list[tuple[Obj | None, Obj | None]] | None = None
    full: list[Obj] | None = None


@dataclass(frozen=True)
class SyncState:
    """What a reflector reports for one (kind, namespace): "starting", "live", "reconnecting"..."""

    state: str
    error: str | None = None

# Store.list shadows the builtin inside the class body, so its annotations use these names.
Objs = list[Obj]
Keys = list[Key]
Changes = list[tuple[float, str, str, str, str]]


class Store:
    """Objects per kind keyed by (namespace, name), shared by reflector threads and the UI.

    One lock guards everything. Readers get fresh lists of the stored objects, which are immutable:
    a dict handed in is kept frozen (core.frozen: out of the cyclic collector's walk; Pods come as
    records, core.records), and an update replaces the whole object, so callers may keep them.
    Every write method accepts `stop`: when that event is set the write is dropped, atomically
    with respect to `clear`, so a reflector that is being replaced can never leave ghosts behind.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, dict[Key, Obj]] = {}
        self._owners: dict[str, dict[str, set[Key]]] = {}  # kind → controller uid → keys
        self._uids: dict[str, tuple[str, Key]] = {}  # uid → (kind, key)
        self._versions: dict[str, int] = {}
        self._version = 0
        self._states: dict[tuple[str, str | None], SyncState] = {}
        self._feeds: list[ChangeFeed] = []
        # The last changes (when asked for by record_changes): what led to a state, for debugging.
        self._recent: deque[tuple[float, str, str, str, str]] | None = None

    # -- writes ---------------------------------------------------------------------------

    def replace(
        self,
        kind: str,
        namespace_scope: str | None,
        objects: Iterable[Obj],
        *,
        stop: threading.Event | None = None,
    ) -> bool:
        """Make the kind's objects in `namespace_scope` (None = all) exactly `objects`.

        Objects in scope that are not in `objects` are removed (no ghosts after a relist).
        Unchanged objects (same resourceVersion) are kept as they are. Returns True if
        anything changed.
        """
        fresh = {key(obj): obj for obj in map(_frozen, objects)}
        with self._lock:
            if stop is not None and stop.is_set():
                return False
            current = self._objects.setdefault(kind, {})
            changed = False
            gone = [
                k for k in current
                if (namespace_scope is None or k[0] == namespace_scope) and k not in fresh
            ]
            for k in gone:
                self._remove(kind, k)
                changed = True
            for k, obj in fresh.items():
                old = current.get(k)
                if old is not None and _same(old, obj):
                    continue
                self._put(kind, k, obj)
                changed = True
            if changed:
                self._bump(kind)
            return changed

    def apply(
        self,
        kind: str,
        events: Iterable[tuple[str, Obj]],
        *,
        stop: threading.Event | None = None,
    ) -> bool:
        """Apply a batch of (ADDED|MODIFIED|DELETED, object) watch events; True if changed."""
        events = [(event_type, obj if event_type == DELETED else _frozen(obj)) for event_type, obj in events]
        with self._lock:
            if stop is not None and stop.is_set():
                return False
            changed = False
            for event_type, obj in events:
                if event_type == DELETED:
                    changed |= self._remove(kind, key(obj))
                else:
                    changed |= self._upsert(kind, obj)
            if changed:
                self._bump(kind)
            return changed

    def upsert(self, kind: str, obj: Obj, *, stop: threading.Event | None = None) -> bool:
        """Insert or replace one object; True if the store changed."""
        return self.apply(kind, [(MODIFIED, obj)], stop=stop)

    def delete(self, kind: str, obj: Obj, *, stop: threading.Event | None = None) -> bool:
        """Remove one object (only its namespace and name are used); True if it was there."""
        return self.apply(kind, [(DELETED, obj)], stop=stop)

    def clear(self, kind: str | None = None) -> None:
        """Forget all objects (of one kind, or of every kind) and their sync states."""
        with self._lock:
            kinds = [kind] if kind is not None else list(self._objects)
            for k in kinds:
                for obj_key in list(self._objects.get(k, {})):
                    self._remove(k, obj_key)
                self._bump(k)
                for state_key in [s for s in self._states if s[0] == k]:
                    del self._states[state_key]
            if kind is None:
                self._states.clear()

    def drop(self) -> None:
        """Let go of everything at once: a store nobody reads any more (replaced on a context switch).

        Unlike clear(), nothing is removed one by one and no feed hears of it; the objects are freed
        by reference counting even if something still holds this store, so the collection after
        the reload (kdash/heap.py) has none of them to walk.
        """
        with self._lock:
            self._objects, self._owners, self._uids = {}, {}, {}
            self._states, self._feeds = {}, []
            self._recent = None
            self._version += 1
            self._versions = dict.fromkeys(self._versions, self._version)

    # -- reads ----------------------------------------------------------------------------

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        with self._lock:
            return self._objects.get(kind, {}).get((namespace or "", name))

    def list(self, kind: str, namespace: str | None = None) -> Objs:
        """All objects of a kind, optionally only those in one namespace."""
        with self._lock:
            objects = self._objects.get(kind, {})
            if namespace is None:
                return list(objects.values())
            return [obj for k, obj in objects.items() if k[0] == namespace]

    def keys(self, kind: str) -> Keys:
        with self._lock:
            return list(self._objects.get(kind, {}))

    def count(self, kind: str) -> int:
        with self._lock:
            return len(self._objects.get(kind, {}))

    def owned_by(self, kind: str, owner: str) -> Objs:
        """Objects of `kind` whose controller ownerReference has uid `owner`."""
        with self._lock:
            objects = self._objects.get(kind, {})
            keys = self._owners.get(kind, {}).get(owner, ())
            return [objects[k] for k in keys if k in objects]

    def by_uid(self, object_uid: str) -> Obj | None:
        """The object with this uid, of any kind."""
        with self._lock:
            found = self._uids.get(object_uid)
            if found is None:
                return None
            return self._objects.get(found[0], {}).get(found[1])

    def kind_of_uid(self, object_uid: str) -> str | None:
        with self._lock:
            found = self._uids.get(object_uid)
            return found[0] if found else None

    def matching(self, kind: str, namespace: str, selector: dict[str, str] | None) -> Objs:
        """Objects in `namespace` whose labels match an equality selector (empty = none)."""
        if not selector:
            return []
        with self._lock:
            return [obj for k, obj in self._objects.get(kind, {}).items()
                    if k[0] == namespace and matches_selector(obj, selector)]

    def version(self, kind: str | None = None) -> int:
        """A counter that grows on every change (of `kind`, or of anything when None)."""
        with self._lock:
            return self._version if kind is None else self._versions.get(kind, 0)

    def versions(self) -> dict[str, int]:
        """Per-kind versions in one consistent snapshot."""
        with self._lock:
            return dict(self._versions)

    # -- change feeds ---------------------------------------------------------------------

    def feed(self, kinds: Iterable[str], limit: int = FEED_LIMIT) -> ChangeFeed:
        """A new feed of these kinds' changes; its first drain hands out full lists."""
        feed = ChangeFeed(kinds, limit)
        with self._lock:
            self._feeds.append(feed)
        return feed

    def close_feed(self, feed: ChangeFeed) -> None:
        with self._lock:
            if feed in self._feeds:
                self._feeds.remove(feed)

    def drain(self, feed: ChangeFeed) -> dict[str, Drained]:
        """Per kind of `feed`: what changed since its last drain, or every object."""
        with self._lock:
            out = {}
            for kind in feed.kinds:
                pending = feed._pending[kind]
                if pending is None:
                    out[kind] = Drained(full=list(self._objects.get(kind, {}).values()))
                else:
                    out[kind] = Drained(changes=pending)
                feed._pending[kind] = []
            return out

    def record_changes(self, size: int) -> None:
        """Keep the last `size` changes (time, kind, ADDED|MODIFIED|DELETED, ns/name, resourceVersion)."""
        with self._lock:
            if self._recent is None or self._recent.maxlen != size:
                self._recent = deque(self._recent or (), maxlen=size)

    def recent_changes(self) -> Changes:
        with self._lock:
            return list(self._recent or ())

    # -- reflector sync state -------------------------------------------------------------

    def set_state(
        self,
        kind: str,
        namespace: str | None,
        state: str,
        error: str | None = None,
        *,
        stop: threading.Event | None = None,
    ) -> None:
        with self._lock:
            if stop is not None and stop.is_set():
                return
            self._states[(kind, namespace)] = SyncState(state, error)

    def drop_state(self, kind: str, namespace: str | None) -> None:
        with self._lock:
            self._states.pop((kind, namespace), None)

    def state(self, kind: str, namespace: str | None) -> SyncState | None:
        with self._lock:
            return self._states.get((kind, namespace))

    def states(self) -> dict[tuple[str, str | None], SyncState]:
        with self._lock:
            return dict(self._states)

    # -- internals (caller holds the lock) ------------------------------------------------

    def _bump(self, kind: str) -> None:
        self._version += 1
        self._versions[kind] = self._version

    def _upsert(self, kind: str, obj: Obj) -> bool:
        obj_key = key(obj)
        old = self._objects.get(kind, {}).get(obj_key)
        if old is not None and _same(old, obj):
            return False
        self._put(kind, obj_key, obj)
        return True

    def _put(self, kind: str, obj_key: Key, obj: Obj) -> None:
        objects = self._objects.setdefault(kind, {})
        old = objects.get(obj_key)
        if old is not None:
            self._unindex(kind, obj_key, old)
        objects[obj_key] = obj
        self._index(kind, obj_key, obj)
        self._note_feeds(kind, old, obj)

    def _remove(self, kind: str, obj_key: Key) -> bool:
        old = self._objects.get(kind, {}).pop(obj_key, None)
        if old is None:
            return False
        self._unindex(kind, obj_key, old)
        self._note_feeds(kind, old, None)
        return True

    def _note_feeds(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        if self._recent is not None:
            self._record(kind, old, new)
        for feed in self._feeds:
            if kind in feed.kinds:
                feed._note(kind, old, new)

    def _record(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        obj = new if new is not None else old
        if obj is None or self._recent is None:
            return
        change = ADDED if old is None else DELETED if new is None else MODIFIED
        namespace, name = key(obj)
        self._recent.append((time.time(), kind, change, f"{namespace}/{name}", resource_version(obj)))

    def _index(self, kind: str, obj_key: Key, obj: Obj) -> None:
        owner = owner_uid(obj)
        if owner:
            self._owners.setdefault(kind, {}).setdefault(owner, set()).add(obj_key)
        object_uid = uid(obj)
        if object_uid:
            self._uids[object_uid] = (kind, obj_key)

    def _unindex(self, kind: str, obj_key: Key, obj: Obj) -> None:
        owner = owner_uid(obj)
        if owner:
            owners = self._owners.get(kind, {})
            keys = owners.get(owner)
            if keys is not None:
                keys.discard(obj_key)
                if not keys:
                    del owners[owner]
        object_uid = uid(obj)
        if object_uid and self._uids.get(object_uid) == (kind, obj_key):
            del self._uids[object_uid]


def _frozen(obj: Obj) -> Obj:
    # Before the lock: freezing takes ~10 µs per object, and readers wait on the lock.
    return freeze(obj) if type(obj) is dict else obj


def _same(old: Obj, new: Obj) -> bool:
    """Same stored revision: resourceVersion equality (RVs are opaque; never compare order)."""
    old_rv, new_rv = resource_version(old), resource_version(new)
    return bool(old_rv) and old_rv == new_rv and uid(old) == uid(new)


def summarize_states(states: dict[tuple[str, str | None], SyncState]) -> str:
    """One word (or "forbidden: pods, services") for the header from reflector states."""
    by_state: dict[str, list[str]] = {}
    for (kind, _namespace), sync in sorted(states.items(), key=lambda item: item[0][0]):
        by_state.setdefault(sync.state, []).append(kind)
    # Rejected credentials break every pane, so they outrank a per-kind "forbidden".
    for bad in ("unauthorized", "forbidden", "error"):
        if bad in by_state:
            return f"{bad}: {', '.join(dict.fromkeys(_plural(k) for k in by_state[bad]))}"  # once per kind
    if "reconnecting" in by_state:
        return "reconnecting"
    if "starting" in by_state or not by_state:
        return "starting"
    return "live"


def _plural(kind_name: str) -> str:
    kind = KINDS_BY_NAME.get(kind_name)
    return kind.plural if kind else kind_name.lower()


__all__ = ["ADDED", "DELETED", "MODIFIED", "ChangeFeed", "Drained", "Store", "SyncState", "summarize_states"]
