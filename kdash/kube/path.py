"""Tells a silent path to the API server from a quiet one: a periodic probe on its own connection."""

# An idle watch on a path whose packets stop (a dead NAT or tunnel, nothing closed) gets no error
# and no event: only its read timeout (watch timeoutSeconds + 5) would end it. A GET /version on a
# connection of its own, every PROBE_INTERVAL with a PROBE_TIMEOUT, proves the path alive; once no
# probe sent in the last STALE_AFTER seconds has been answered, the data on screen is "stale".

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import urllib3

from kdash.kube.api import Configuration, RESTClientObject

PROBE_INTERVAL = 2.0  # between the end of one answered probe and the next
PROBE_TIMEOUT = 3.0  # one probe's whole wait (connect, TLS and answer)
RETRY_INTERVAL = 0.5  # between probes while the path is down: notice its return at once
STALE_AFTER = 5.0  # no probe sent this long ago has been answered: what is shown may be stale
MAX_PROBES_IN_FLIGHT = 8  # while the path is down, probes overlap (each on a fresh socket)


class PathMonitor:
    """Probes the server in a daemon thread; `stale_for()` says how long it has been silent.

    `on_lost()` runs (in the probe thread) when the path is declared down, `on_back()` when a
    probe is answered again; `usable` is set while the path is up, for readers to wait on.
    Any HTTP answer proves the path (a 401, 403 or 500 too); a TLS failure also does: the server
    answered. Probes carry the connection's credentials, like its other requests. Only timeouts
    and connection failures count against it.
    """

    def __init__(self, configuration: Configuration, *, on_lost: Callable[[], None] = lambda: None,
                 on_back: Callable[[], None] = lambda: None, interval: float = PROBE_INTERVAL,
                 timeout: float = PROBE_TIMEOUT, stale_after: float = STALE_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.configuration = configuration
        self.url = configuration.host.rstrip("/") + "/version"
        # Its own pool: a probe must never wait behind (or reuse) a socket the watches share.
        self._rest = RESTClientObject(configuration)
        self.on_lost = on_lost
        self.on_back = on_back
        self.interval = interval
        self.timeout = timeout
        self.stale_after = stale_after
        self.clock = clock
        self.usable = threading.Event()
        self.usable.set()
        self._last_ok = clock()  # the connect that preceded us answered
        self._down = False
        self._in_flight = 0
        self._when_back: list[Callable[[], None]] = []
        self._lock = threading.Lock()  # _last_ok, _down and the on_lost/on_back calls
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="path-probe", daemon=True)

    def start(self) -> PathMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ends the thread after its probe in flight (at most `timeout`); does not wait for it."""
        self._stop.set()
        self.usable.set()  # nobody may wait on a monitor that is gone

    def stale_for(self) -> float | None:
        """Seconds since the last answered probe was sent, once that is over `stale_after`
        (or the path was declared down); None while the path is known to be fine."""
        age = self.clock() - self._last_ok
        return age if self._down or age > self.stale_after else None

    def probe(self) -> bool:
        """One GET /version on the probe's own pool; True if the server answered at all."""
        try:
            response = self._rest.pool_manager.request(
                "GET", self.url, timeout=urllib3.Timeout(total=self.timeout), retries=False,
                preload_content=True, headers=self._headers())
            response.release_conn()
            return True
        except urllib3.exceptions.SSLError:
            return True
        except (urllib3.exceptions.HTTPError, OSError, ValueError):
            # A timed-out socket may still be the one a stalled path froze: never reuse it.
            self._rest.pool_manager.clear()
            return False

    def _headers(self) -> dict[str, str]:
        # Authenticated like every other request: a server without anonymous access would
        # otherwise log a refused request every few seconds (an answer all the same).
        headers = {"Accept": "application/json"}
        try:
            token = self.configuration.auth_settings().get("BearerToken", {}).get("value")
        except Exception:  # noqa: BLE001 - a credential hook failing is the watches' concern
            token = None
        if token:
            headers["Authorization"] = token
        return headers

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._down:
                # A probe may sit on a socket the stall froze for its whole timeout: while the path
                # is down, start a fresh one every RETRY_INTERVAL, so its return is seen at once.
                self._probe_in_background()
                self._stop.wait(RETRY_INTERVAL)
                continue
            sent = self.clock()
            answered = self.probe()
            if self._stop.is_set():
                break
            if answered:
                self._answered(sent)
            elif self.clock() - self._last_ok > self.stale_after:
                with self._lock:
                    self._lost()
            self._stop.wait(self.interval if answered else RETRY_INTERVAL)
        self._rest.pool_manager.clear()

    def _probe_in_background(self) -> None:
        with self._lock:
            if self._in_flight >= MAX_PROBES_IN_FLIGHT:
                return
            self._in_flight += 1

        def run() -> None:
            sent = self.clock()
            try:
                if self.probe() and not self._stop.is_set():
                    self._answered(sent)
            finally:
                with self._lock:
                    self._in_flight -= 1

        threading.Thread(target=run, name="path-probe-retry", daemon=True).start()

    def _answered(self, sent: float) -> None:
        with self._lock:
            self._last_ok = max(self._last_ok, sent)
            if self._down:
                self._back()

    def _lost(self) -> None:
        self._down = True
        self.usable.clear()
        self.on_lost()

    def _back(self) -> None:
        # on_back first (it drops the sockets the stall froze), then readers may go.
        self.on_back()
        for callback in list(self._when_back):
            callback()
        self._down = False
        self.usable.set()

    def when_back(self, callback: Callable[[], None]) -> None:
        """Also call `callback` (in the probe thread) each time the path comes back."""
        self._when_back.append(callback)
