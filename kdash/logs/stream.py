"""One container's log over GET …/pods/{pod}/log, read in a thread that resumes without duplicates."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import urllib3

from kdash.core.kinds import POD
from kdash.errors import ApiException, describe_api_error
from kdash.kube.api import ApiClient
from kdash.kube.client import CONNECT_TIMEOUT, open_get
from kdash.kube.reflector import Backoff
from kdash.logs.buffer import LogLine, marker
from kdash.logs.text import sanitize

log = logging.getLogger(__name__)

DEFAULT_TAIL = 100
MAX_LINE_BYTES = 64 * 1024  # a container that never writes "\n" must not grow memory forever
# A follow stream that stays silent this long is re-opened quietly: it is how a connection that
# died without a FIN (laptop sleep, NAT timeout) is noticed. Resuming by time loses nothing.
IDLE_TIMEOUT = 120.0
RECONNECTING = "reconnecting"

CONNECTING, STREAMING, ENDED, FAILED, STOPPED = "connecting", "streaming", "ended", "failed", "stopped"

Sink = Callable[[list[LogLine]], None]


class Response(Protocol):
    """What a stream needs of a urllib3 response (fakes in tests implement the same)."""

    def stream(self, amt: int | None = ...) -> Iterator[bytes]: ...
    def shutdown(self) -> None: ...
    def close(self) -> None: ...
    def release_conn(self) -> None: ...


Opener = Callable[[str, list[tuple[str, Any]], tuple[float, float]], Response]


@dataclass(frozen=True)
class LogOptions:
    """What to ask the server for; every field maps to a query parameter of the log endpoint."""

    follow: bool = True
    tail_lines: int | None = DEFAULT_TAIL  # None = the whole log
    since_seconds: int | None = None
    previous: bool = False


@dataclass(frozen=True)
class Target:
    """One container of one pod; `instance` is the containerID being read (a restart = new target)."""

    namespace: str
    pod: str
    container: str
    pod_uid: str = ""
    instance: str = ""
    color: int = 0

    @property
    def path(self) -> str:
        return POD.object_path(self.namespace, self.pod) + "/log"


def api_opener(api_client: ApiClient) -> Opener:
    """An Opener that GETs through the kdash connection (auth, TLS and timeouts as elsewhere)."""

    def open_log(path: str, query: list[tuple[str, Any]], timeout: tuple[float, float]) -> Response:
        return open_get(api_client, path, query, timeout=timeout)

    return open_log


class LogSplitter:
    """Splits a byte stream into lines, keeping blank lines (unlike the watch splitter, which
    skips them) and cutting a line that grows past `max_line` bytes."""

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._partial = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._partial + chunk if self._partial else chunk
        lines = data.split(b"\n")
        partial = lines.pop()
        while len(partial) > self.max_line:
            lines.append(partial[: self.max_line])
            partial = partial[self.max_line:]
        self._partial = partial
        return lines

    def flush(self) -> bytes | None:
        """The last line when the stream ended without a newline."""
        rest, self._partial = self._partial, b""
        return rest or None


def split_timestamp(text: str) -> tuple[str, str]:
    """("2024-01-02T03:04:05.123Z", "message") from a line requested with timestamps=true."""
    stamp, space, rest = text.partition(" ")
    if space and len(stamp) >= 20 and stamp[4] == "-" and stamp[10] == "T":
        return stamp, rest
    return "", text


class ResumePoint:
    """Where to pick a stream up after a reconnect, the way stern does it.

    The server only takes `sinceTime` in whole seconds, so remember the last second seen and
    how many lines carried it; after reconnecting from that second, skip that many lines.
    """

    def __init__(self) -> None:
        self.second = ""  # "2024-01-02T03:04:05"
        self.seen = 0
        self._skip = 0

    def since_time(self) -> str | None:
        return f"{self.second}Z" if self.second else None

    def rewind(self) -> None:
        """A new request starts at `second`: the next `seen` lines of that second are repeats."""
        self._skip = self.seen

    def accept(self, stamp: str) -> bool:
        """Record a line's timestamp; False if it is a repeat to drop."""
        second = stamp[:19]
        if self._skip:
            if second == self.second:
                self._skip -= 1
                return False
            self._skip = 0
        if second == self.second:
            self.seen += 1
        else:
            self.second, self.seen = second, 1
        return True


def log_query(target: Target, options: LogOptions, since_time: str | None = None) -> list[tuple[str, Any]]:
    """Query parameters for the log endpoint; `since_time` (a resume) replaces tail and since."""
    # Timestamps are always requested: they make resuming exact, and the view shows them or not.
    query: list[tuple[str, Any]] = [("container", target.container), ("timestamps", "true")]
    if options.previous:
        query.append(("previous", "true"))
    elif options.follow:
        query.append(("follow", "true"))
    if since_time:
        query.append(("sinceTime", since_time))
        return query
    if options.tail_lines is not None and options.tail_lines >= 0:
        query.append(("tailLines", options.tail_lines))
    if options.since_seconds:
        query.append(("sinceSeconds", options.since_seconds))
    return query


class ContainerStream:
    """Reads one container's log in a daemon thread and hands batches of lines to `sink`.

    Network errors and 5xx answers reconnect with backoff (one "reconnecting" marker per outage)
    and resume by time; 4xx answers (pod gone, container not started, no previous container)
    end the stream with one marker: retrying would only repeat them. `stop()` returns at once:
    it shuts the socket, so a blocked read ends within milliseconds. (A batch already being
    handed over may still land; the Follower's gate makes that cut exact.)
    """

    def __init__(
        self,
        opener: Opener,
        target: Target,
        options: LogOptions,
        sink: Sink,
        *,
        backoff: Backoff | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.opener = opener
        self.target = target
        self.options = options
        self.sink = sink
        self.backoff = backoff or Backoff(base=0.5, maximum=10.0)
        self.idle_timeout = idle_timeout
        self.state = CONNECTING
        self.error: str | None = None
        self.requests = 0
        self.lines = 0
        self._resume = ResumePoint()
        self._outage = False  # one "reconnecting" marker per outage, not one per attempt
        self._stop = threading.Event()
        self._response: Response | None = None
        self._response_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"logs-{target.pod}-{target.container}")

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> ContainerStream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._interrupt()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def done(self) -> bool:
        """The thread has nothing more to read (ended, failed or stopped)."""
        return self.state in (ENDED, FAILED, STOPPED)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # -- the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self.stopped:
                try:
                    self._read_once()
                    self._set_state(ENDED)  # the container exited, or the log was read (no follow)
                    return
                except ApiException as exc:
                    if _is_final(exc):
                        self._fail(describe_api_error(exc).message)
                        return
                    reason = describe_api_error(exc).message
                except urllib3.exceptions.ReadTimeoutError:
                    if self.stopped:
                        return
                    self._resume.rewind()
                    continue  # only quiet for idle_timeout: re-open at once, silently
                except Exception as exc:  # noqa: BLE001 - connection errors, whatever their type
                    if self.stopped:
                        return
                    if not isinstance(exc, urllib3.exceptions.HTTPError | OSError | ValueError):
                        log.exception("log stream %s/%s failed", self.target.pod, self.target.container)
                    reason = describe_api_error(exc).message
                if not self._outage:
                    self._outage = True
                    self._note(f"{RECONNECTING} ({reason})")
                self._resume.rewind()
                self._stop.wait(self.backoff.next())
        finally:
            if self.stopped:
                self.state = STOPPED

    def _read_once(self) -> None:
        query = log_query(self.target, self.options, self._resume.since_time())
        self.state = CONNECTING
        self.requests += 1
        response = self.opener(self.target.path, query, (CONNECT_TIMEOUT, self.idle_timeout))
        self._track(response)
        try:
            if self.stopped:
                return
            self._set_state(STREAMING)
            self.backoff.reset()
            self._outage = False
            splitter = LogSplitter()
            for chunk in response.stream(None):
                if self.stopped:
                    return
                self._emit(self._to_lines(splitter.feed(chunk)))
            rest = splitter.flush()
            if rest is not None:
                self._emit(self._to_lines([rest]))
        finally:
            self._track(None)
            response.close()  # an unfinished stream must not go back to the pool
            response.release_conn()

    def _to_lines(self, raw_lines: list[bytes]) -> list[LogLine]:
        target, resume = self.target, self._resume
        out: list[LogLine] = []
        for raw in raw_lines:
            text = raw.decode("utf-8", errors="replace")
            if text.endswith("\r"):
                text = text[:-1]
            stamp, body = split_timestamp(text)
            if stamp and not resume.accept(stamp):
                continue
            out.append(LogLine(target.pod, target.container, sanitize(body), stamp, target.color))
        return out

    # -- helpers --------------------------------------------------------------------------

    def _emit(self, lines: list[LogLine]) -> None:
        if lines and not self.stopped:
            self.lines += sum(1 for line in lines if not line.marker)
            self.sink(lines)

    def _fail(self, message: str) -> None:
        self.error = message
        self._note(message)
        self._set_state(FAILED)

    def _note(self, text: str) -> None:
        """A marker line naming this container (markers are drawn without the pod prefix)."""
        t = self.target
        self._emit([marker(f"{t.pod}/{t.container}: {text}", t.pod, t.container, t.color)])

    def _set_state(self, state: str) -> None:
        if not self.stopped:
            self.state = state

    def _track(self, response: Response | None) -> None:
        with self._response_lock:
            self._response = response
        if response is not None and self.stopped:
            self._interrupt()  # stop() ran while the request was in flight

    def _interrupt(self) -> None:
        with self._response_lock:
            response = self._response
        if response is None:
            return
        try:
            response.shutdown()
        except (RuntimeError, ValueError, OSError):
            pass  # already released or closed: nothing is blocked on it


def _is_final(exc: ApiException) -> bool:
    """A 4xx will be answered the same way again (408 and 429 are worth a retry)."""
    status = exc.status or 0
    return 400 <= status < 500 and status not in (408, 429)


def stream_factory(api_client: ApiClient):
    """The Follower's default: real ContainerStreams over `api_client`."""
    opener = api_opener(api_client)

    def make(target: Target, options: LogOptions, sink: Sink) -> ContainerStream:
        return ContainerStream(opener, target, options, sink)

    return make
