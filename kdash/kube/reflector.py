"""List-then-watch loop (one thread per kind × namespace) that keeps the Store in sync."""

# Why raw JSON and not the client's pydantic models — parse cost of one LIST body of 300 pods
# (best of 3-5 runs, Python 3.11, kubernetes 37.0.2, 2-core machine):
#
#   300 pods from the 1.20 control plane    json.loads 17.7 ms (59 µs/pod)
#   (1.1 MiB, ~3.8 KiB/pod)                 json.loads + slim 19.8 ms
#                                           ApiClient.deserialize(V1PodList) 89.4 ms (298 µs/pod)
#   300 synthetic pods, 2 containers each   json.loads 12.5 ms (42 µs/pod)
#   (1.3 MiB, ~4.5 KiB/pod)                 ApiClient.deserialize(V1PodList) 155 ms (518 µs/pod)
#
# Models cost 5-12x more CPU (on a thread that shares the GIL with the UI), and they are strict:
# one object missing a schema-required field raises ValidationError mid-watch.
# tests/unit/test_kube_objects.py re-measures the synthetic case.

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec
import urllib3

from kdash.core.kinds import Kind, kind_named
from kdash.core.objects import Obj
from kdash.errors import ApiException, KdashError, describe_api_error, describe_status
from kdash.kube.api import ApiClient
from kdash.kube.client import CONNECT_TIMEOUT, open_get
from kdash.kube.decode import decode_event, decode_page, has_records
from kdash.kube.discovery import served_kind
from kdash.kube.objects import slim
from kdash.kube.store import ADDED, DELETED, MODIFIED, Store

log = logging.getLogger(__name__)

STARTING, LIVE, RECONNECTING = "starting", "live", "reconnecting"
# The server serves none of the kind's versions (CronJob on a server without batch): not an error.
UNAVAILABLE = "unavailable"
FORBIDDEN, UNAUTHORIZED, ERROR = "forbidden", "unauthorized", "error"

PAGE_SIZE = 500
AUTH_BACKOFF = 30.0  # a 401/403 will not fix itself soon: retry rarely, never hot-loop
SHORT_WATCH = 1.0  # a watch that ends this fast with no events counts as a failure
RECONNECT_MAX = 2.0  # backoff cap while the server cannot be reached at all
HEALTHY_RESET = 10.0  # a watch that ran this long resets the backoff (client-go waits 2 min)
FIRST_WAIT = 1.0  # longest a reflector waits for its watcher's first kinds' lists (see FirstLists)


class FirstLists:
    """Lets some reflectors list before the others: the kinds the first view shows, so their
    decoding does not share the GIL with fourteen other lists. Each first reflector arrives once
    (its first list ended, or failed); the others wait for all of them, at most FIRST_WAIT."""

    def __init__(self, count: int) -> None:
        self._left = count
        self._lock = threading.Lock()
        self._done = threading.Event()
        if count <= 0:
            self._done.set()

    def arrive(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left == 0:
                self._done.set()

    def wait(self, stop: threading.Event, timeout: float = FIRST_WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not self._done.wait(0.05) and not stop.is_set() and time.monotonic() < deadline:
            pass


class WatchExpired(Exception):
    """The resourceVersion is gone from the server's history (410): relist."""


class WatchErrorEvent(Exception):
    """The watch stream sent an ERROR event other than 410."""

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__(status.get("message") or status.get("reason") or "watch error")
        self.status = status


class LineSplitter:
    """Splits a byte stream into newline-terminated lines, keeping partial lines for later."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add a chunk; return the complete, non-blank lines it finished."""
        self._buffer += chunk
        end = self._buffer.rfind(b"\n")
        if end < 0:
            return []
        complete = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return [line for line in complete.split(b"\n") if line.strip()]

    def flush(self) -> bytes | None:
        """Whatever is left at the end of the stream (a last line without newline), if any."""
        rest = bytes(self._buffer).strip()
        self._buffer.clear()
        return rest or None


class Backoff:
    """Exponential backoff with jitter: base, 2×base, ... up to maximum."""

    def __init__(self, base: float = 0.5, maximum: float = 10.0) -> None:
        self.base = base
        self.maximum = maximum
        self._next = base

    def next(self) -> float:
        delay = self._next
        self._next = min(self.maximum, self._next * 2)
        # Jitter so reflectors that failed together do not reconnect in lockstep.
        return min(self.maximum, delay * random.uniform(0.75, 1.25))

    def reset(self) -> None:
        self._next = self.base


class Reflector:
    """Keeps `store` equal to the server's objects of one kind in one namespace (None = all).

    `on_change(kind_name)` is called from the reflector thread after each applied batch and
    after each state change; keep it cheap (post a message). `stop` may be shared by several
    reflectors; call `interrupt()` (or `stop()`) to also wake one blocked in a read.
    """

    def __init__(
        self,
        api_client: ApiClient,
        kind: Kind | str,
        namespace: str | None,
        store: Store,
        on_change: Callable[[str], None],
        stop: threading.Event,
        watch_timeout: int = 45,
        *,
        field_selector: str | None = None,
        page_size: int = PAGE_SIZE,
        backoff: Backoff | None = None,
        auth_backoff: float = AUTH_BACKOFF,
        path_usable: threading.Event | None = None,
        first: FirstLists | None = None,
        after: FirstLists | None = None,
    ) -> None:
        """`first`: this reflector is one of its watcher's first kinds and arrives there after its
        first list; `after`: it waits for those before its first request."""
        self.api_client = api_client
        self.kind = kind if isinstance(kind, Kind) else kind_named(kind)
        self.namespace = namespace if self.kind.namespaced else None
        self.store = store
        self.on_change = on_change
        self.stop_event = stop
        self.watch_timeout = int(watch_timeout)
        self.field_selector = field_selector
        self.page_size = page_size
        self.backoff = backoff or Backoff()
        self.auth_backoff = auth_backoff
        # Set while the path to the server works (kdash.kube.path): no request is started while
        # it is down, since a socket opened then may stay frozen after the path comes back.
        self.path_usable = path_usable
        self._hurry = threading.Event()
        self._resolved = False  # the kind's served version is known (see _resolve)
        self._first, self._after = first, after

        self.state = STARTING
        self.last_error: KdashError | None = None
        self.resource_version: str | None = None
        self.list_count = 0  # for tests and diagnostics: how many full LISTs were done
        self.watch_count = 0

        self._expired_in_row = 0
        self._watch_started: float | None = None
        self._response: urllib3.HTTPResponse | None = None
        self._response_lock = threading.Lock()
        scope = self.namespace or "all"
        self._thread = threading.Thread(
            target=self._main, name=f"reflector-{self.kind.plural}-{scope}", daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.store.set_state(self.kind.name, self.namespace, STARTING)
        self._thread.start()

    def stop(self) -> None:
        """Set the stop event and wake the thread if it is blocked reading the stream."""
        self.stop_event.set()
        self.interrupt()

    def interrupt(self) -> None:
        """Shut down the socket of the in-flight response so a blocked read returns now."""
        with self._response_lock:
            response = self._response
        if response is None:
            return
        try:
            response.shutdown()
        except (RuntimeError, ValueError, OSError):
            pass  # already released or closed: nothing is blocked on it

    def reconnect(self) -> None:
        """The path came back: drop the stream in flight and list again without a backoff wait."""
        self._hurry.set()
        self.interrupt()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        return self.stop_event.is_set()

    # -- main loop ------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            if self._after is not None:
                self._after.wait(self.stop_event)
            self._run()
        finally:
            self._arrive()

    def _arrive(self) -> None:
        """Once: this first kind's first list ended (listed, failed or unavailable)."""
        first, self._first = self._first, None
        if first is not None:
            first.arrive()

    def _run(self) -> None:
        while not self.stopped:
            self._await_path()
            try:
                if not self._resolve():
                    return
                if self.resource_version is None:
                    self._list()
                if not self.stopped:
                    self._watch()
            except WatchExpired:
                self._on_expired()
            except ApiException as exc:
                self._on_api_error(exc)
            except WatchErrorEvent as exc:
                self._on_failure(describe_status(exc.status), RECONNECTING)
            except Exception as exc:  # noqa: BLE001 - connection errors and our own bugs alike
                if self.stopped:
                    break  # stop() shut the socket: the error is ours
                delay = None
                if self._hurry.is_set():
                    delay = 0.0  # reconnect() cut the stream: the path is back, go now
                elif _is_connection_error(exc):
                    # A refused or reset connection costs the server nothing, and a restarted
                    # apiserver must be picked up within seconds, not after a 10 s backoff.
                    delay = min(self.backoff.next(), RECONNECT_MAX)
                else:
                    log.exception("reflector %s/%s failed", self.kind.plural, self.namespace)
                self._on_failure(describe_api_error(exc), RECONNECTING, delay)

    def _resolve(self) -> bool:
        """Pick the kind's version the server serves (discovery, once); False when it serves none:
        the state says "unavailable" and the thread ends (a built-in kind does not appear later)."""
        kind = self.kind
        if not kind.versions or self._resolved:
            return True
        served = served_kind(self.api_client, kind)
        if served is None:
            self.last_error = KdashError(f"{kind.plural} unavailable",
                                         f"the server serves none of {', '.join(kind.versions)}")
            if self._set_state(UNAVAILABLE, self.last_error):
                self._notify()
            return False
        self.kind = served
        self._resolved = True
        return True

    def _list(self) -> None:
        objects, resource_version = self._list_pages()
        if self.stopped:
            return
        changed = self.store.replace(self.kind.name, self.namespace, objects, stop=self.stop_event)
        self.resource_version = resource_version
        self.list_count += 1
        self._expired_in_row = 0
        # No backoff reset here: a list that works while every watch fails must still back off.
        state_changed = self._set_state(LIVE)
        if changed or state_changed:
            self._notify()
        self._arrive()

    def _list_pages(self) -> tuple[list[Obj], str]:
        """Every object, slimmed page by page (the bulk of a full page never piles up)."""
        kind = self.kind
        return list_objects(self.api_client, kind, self.namespace,
                            page_size=self.page_size, stop=self.stop_event, track=self._track,
                            transform=lambda item: slim(item, kind),  # the store freezes it
                            field_selector=self.field_selector)

    def _track(self, response: urllib3.HTTPResponse | None) -> None:
        """Remember the in-flight response so interrupt() can shut its socket."""
        with self._response_lock:
            self._response = response
        if response is not None and self.stopped:
            self.interrupt()  # stop() ran just before the response was registered

    def _watch(self) -> None:
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("resourceVersion", str(self.resource_version)),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", self.watch_timeout),
        ]
        if self.field_selector:
            query.append(("fieldSelector", self.field_selector))
        started = time.monotonic()
        # Read timeout just above the server's timeoutSeconds: a silently dead connection is
        # noticed within watch_timeout + 5 s instead of never.
        response = open_get(self.api_client, self.kind.list_path(self.namespace), query,
                            timeout=(CONNECT_TIMEOUT, self.watch_timeout + 5))
        self.watch_count += 1
        self._watch_started = started
        if self._set_state(LIVE):
            self._notify()
        events = self._consume(response)
        if events == 0 and time.monotonic() - started < SHORT_WATCH and not self.stopped:
            # A watch that closes at once would otherwise be re-opened in a hot loop.
            raise urllib3.exceptions.ProtocolError("watch closed immediately")
        self._reset_backoff_if_healthy()

    def _consume(self, response: urllib3.HTTPResponse) -> int:
        """Apply the stream's events until it ends; returns how many lines were handled."""
        self._track(response)
        handled = 0
        try:
            if self.stopped:
                return 0
            splitter = LineSplitter()
            for chunk in response.stream(None):
                lines = splitter.feed(chunk)
                if lines:
                    handled += len(lines)
                    self.apply_lines(lines)
                if self.stopped:
                    return handled
            rest = splitter.flush()
            if rest:
                handled += 1
                self.apply_lines([rest])
            return handled
        finally:
            self._track(None)
            # close() drops the connection: an unfinished stream must not go back to the pool.
            response.close()
            response.release_conn()

    def apply_lines(self, lines: Iterable[bytes | str]) -> None:
        """Apply a batch of watch event lines to the store; on_change once for the batch."""
        batch: list[tuple[str, Obj]] = []
        latest_rv = self.resource_version
        try:
            records = has_records(self.kind)
            for line in lines:
                if records:
                    event_type, obj = decode_event(self.kind, line, self._slim_event)
                else:
                    event = msgspec.json.decode(line)  # several times json's speed, keys shared
                    event_type, obj = event.get("type"), event.get("object") or {}
                if event_type == "ERROR":
                    raise _error_event(obj)
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if event_type in (ADDED, MODIFIED, DELETED):
                    # Not interned here: the store freezes it (core.frozen), interning as it goes.
                    batch.append((event_type, obj if records else slim(obj, self.kind)))
                if rv:
                    latest_rv = str(rv)  # bookmarks only move the resourceVersion forward
        finally:
            # Events before an ERROR line still happened: apply them, then let the error out.
            if batch and self.store.apply(self.kind.name, batch, stop=self.stop_event):
                self._notify()
            if not self.stopped:
                self.resource_version = latest_rv

    def _slim_event(self, obj: Obj) -> Obj:
        return slim(obj, self.kind, compact=True)

    # -- failures -------------------------------------------------------------------------

    def _on_expired(self) -> None:
        self.resource_version = None
        self._expired_in_row += 1
        if self._expired_in_row > 2:
            # Expired again right after a relist: something is off; do not hammer the server.
            self._sleep(self.backoff.next())

    def _on_api_error(self, exc: ApiException) -> None:
        if exc.status == 410:
            self._on_expired()
            return
        error = describe_api_error(exc)
        if exc.status == 401:
            # The REST layer already reloaded the credentials and retried once (kube/client.py).
            self._on_failure(error, UNAUTHORIZED, self.auth_backoff)
        elif exc.status == 403:
            self._on_failure(error, FORBIDDEN, self.auth_backoff)
        elif exc.status in (404, 400, 405, 406, 415, 422):
            # The server does not serve this kind as asked: retrying fast would not help.
            self._on_failure(error, ERROR, self.auth_backoff)
        else:
            self._on_failure(error, RECONNECTING)

    def _on_failure(self, error: KdashError, state: str, delay: float | None = None) -> None:
        self._reset_backoff_if_healthy()
        self._watch_started = None
        self.resource_version = None  # relist after any failure: the diff removes ghosts
        self.last_error = error
        if self._set_state(state, error):
            self._notify()
        self._arrive()  # the other kinds need not wait for this one's recovery
        self._sleep(self.backoff.next() if delay is None else delay)

    def _reset_backoff_if_healthy(self) -> None:
        started = self._watch_started
        if started is not None and time.monotonic() - started >= HEALTHY_RESET:
            self.backoff.reset()

    # -- helpers --------------------------------------------------------------------------

    def _set_state(self, state: str, error: KdashError | None = None) -> bool:
        """Record the state (and mirror it into the store); True if it changed."""
        if self.stopped:
            return False
        if state == LIVE:
            self.last_error = None
        changed = state != self.state
        self.state = state
        message = f"{error.title}: {error.message}" if error else None
        self.store.set_state(self.kind.name, self.namespace, state, message, stop=self.stop_event)
        return changed

    def _notify(self) -> None:
        if self.stopped:
            return
        try:
            self.on_change(self.kind.name)
        except Exception:  # noqa: BLE001 - a UI callback bug must not kill the watch
            log.exception("on_change(%s) failed", self.kind.name)

    def _sleep(self, seconds: float) -> None:
        """Wait `seconds`, less if stopped or reconnect() says the path is back."""
        deadline = time.monotonic() + seconds
        while not self.stopped and not self._hurry.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # The stop event is shared by many reflectors; the hurry flag is ours: poll it.
            self.stop_event.wait(min(left, 0.25))
        self._hurry.clear()

    def _await_path(self) -> None:
        gate = self.path_usable
        while gate is not None and not gate.is_set() and not self.stopped:
            gate.wait(0.25)


def list_objects(
    api_client: ApiClient,
    kind: Kind,
    namespace: str | None,
    *,
    page_size: int = PAGE_SIZE,
    stop: threading.Event | None = None,
    track: Callable[[urllib3.HTTPResponse | None], None] | None = None,
    transform: Callable[[Obj], Obj] | None = None,
    field_selector: str | None = None,
) -> tuple[list[Obj], str]:
    """LIST every object of `kind` (raw dicts, paged by `page_size`) → (items, resourceVersion).

    Without a resourceVersion the list is a consistent quorum read across all its pages.
    `track` is told about each in-flight response (and None after it) so that a reader can
    be interrupted. `transform` (e.g. slim) is applied to each page's items as it arrives.
    Raises ApiException (410 if a continue token expired) or urllib3 errors.
    """
    path = kind.list_path(namespace if kind.namespaced else None)
    items: list[Obj] = []
    token: str | None = None
    while True:
        query: list[tuple[str, Any]] = [("limit", page_size)]
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if token:
            query.append(("continue", token))
        data = _read(open_get(api_client, path, query, timeout=(CONNECT_TIMEOUT, 60.0)), track)
        if has_records(kind):
            page, token, version = decode_page(kind, data, transform)
            items.extend(page)
        else:
            body = msgspec.json.decode(data)
            metadata = body.get("metadata") or {}
            items.extend(map(transform, body.get("items") or []) if transform is not None else body.get("items") or [])
            del body  # with transform: let the page's bulk (managedFields...) go now
            token, version = metadata.get("continue"), str(metadata.get("resourceVersion") or "")
        del data
        if not token or (stop is not None and stop.is_set()):
            return items, version


def _read(
    response: urllib3.HTTPResponse,
    track: Callable[[urllib3.HTTPResponse | None], None] | None,
) -> bytes:
    if track is not None:
        track(response)
    try:
        return response.data
    except BaseException:
        response.close()  # a half-read body must not go back to the pool
        raise
    finally:
        if track is not None:
            track(None)
        response.release_conn()


def _error_event(status: Mapping[str, Any]) -> Exception:
    code = status.get("code")
    message = str(status.get("message") or "")
    # 1.20 reports "too large resource version" as 504 Timeout; client-go relists for both.
    if code == 410 or status.get("reason") in ("Expired", "Gone") or (
        code == 504 and "resource version" in message.lower()
    ):
        return WatchExpired(message)
    return WatchErrorEvent(dict(status))


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, urllib3.exceptions.HTTPError | OSError | ValueError)
