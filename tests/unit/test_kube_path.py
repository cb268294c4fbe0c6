"""The path monitor: a silent server is declared down, its return noticed; readers wait and hurry."""

from __future__ import annotations

import socket
import threading
import time

from kdash.kube.api import Configuration
from kdash.kube.path import PathMonitor
from kdash.kube.reflector import Backoff
from kdash.kube.store import Store
from tests.unit.test_kube_reflector import (  # noqa: F401 - fixtures
    CONFIGMAP,
    api,
    connection,
    names,
    reflectors,
    start_reflector,
    wait_for,
)


class SilentOrAnswering:
    """A TCP server: connections accepted while `silent` never get a byte (nor are closed);
    the others get one HTTP answer."""

    def __init__(self) -> None:
        self.silent = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.silent:
                self.held.append(conn)
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                if self.silent:
                    self.held.append(conn)  # a kept-alive connection goes silent too
                    threading.Event().wait()
                conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\n{}")

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


def test_stale_for_counts_from_the_last_answered_probe_once_past_the_threshold():
    now = [100.0]
    monitor = PathMonitor(Configuration(host="http://127.0.0.1:1"), stale_after=5.0, clock=lambda: now[0])
    assert monitor.stale_for() is None
    now[0] += 4.9
    assert monitor.stale_for() is None
    now[0] += 0.2
    assert abs(monitor.stale_for() - 5.1) < 1e-9


def test_a_silent_server_is_declared_down_and_its_return_noticed_at_once():
    server = SilentOrAnswering()
    events: list[tuple[str, float]] = []
    monitor = PathMonitor(Configuration(host=server.url), interval=0.05, timeout=0.5, stale_after=0.6,
                          on_lost=lambda: events.append(("lost", time.monotonic())),
                          on_back=lambda: events.append(("back", time.monotonic())))
    monitor.start()
    try:
        time.sleep(0.3)
        assert monitor.stale_for() is None and monitor.usable.is_set()  # a 401 is an answer
        server.silent = True
        wait_for(lambda: ("lost" in [e for e, _ in events]), timeout=5, message="the path declared down")
        assert not monitor.usable.is_set() and monitor.stale_for() is not None
        # Probes now hang on silent sockets; the server answers again on new ones only.
        time.sleep(0.3)
        server.silent = False
        returned = time.monotonic()
        wait_for(lambda: monitor.usable.is_set(), timeout=5, message="the path's return noticed")
        assert [e for e, _ in events] == ["lost", "back"]
        # Not after a probe stuck on a silent socket has timed out: a fresh probe sees it first.
        assert events[-1][1] - returned < 0.45
        assert monitor.stale_for() is None
    finally:
        monitor.stop()
        server.close()


def test_abandon_connections_wakes_a_watch_blocked_in_a_read(api, connection, reflectors):  # noqa: F811
    store = Store()
    reflector = start_reflector(connection, store)
    reflectors.append(reflector)
    wait_for(lambda: api.watching("configmaps"), message="the watch")
    lists = reflector.list_count
    assert connection.abandon_connections() >= 1
    api.put("configmaps", "after")
    wait_for(lambda: names(store) == ["after"], message="the reflector to read again")
    assert reflector.list_count > lists  # cut, then listed again


def test_reconnect_skips_the_backoff_wait(api, connection, reflectors):  # noqa: F811
    api.fail_with = 500
    store = Store()
    reflector = start_reflector(connection, store, backoff=Backoff(base=30.0, maximum=30.0))
    reflectors.append(reflector)
    wait_for(lambda: api.list_requests(), message="the first list")
    time.sleep(0.2)  # now in its 30 s backoff
    api.fail_with = None
    asked = len(api.list_requests())
    reflector.reconnect()
    wait_for(lambda: len(api.list_requests()) > asked, timeout=3, message="a list right after reconnect()")
    wait_for(lambda: reflector.state == "live", message="live")


def test_a_reflector_waits_for_the_path_before_any_request(api, connection, reflectors):  # noqa: F811
    usable = threading.Event()
    store = Store()
    reflector = start_reflector(connection, store, path_usable=usable)
    reflectors.append(reflector)
    time.sleep(0.5)
    assert api.requests == []
    usable.set()
    wait_for(lambda: reflector.state == "live", message="live once the path is usable")


def test_the_watcher_health_says_stale_before_anything_else(api, connection):  # noqa: F811
    from kdash.kube.watcher import Watcher

    watcher = Watcher(connection, "default", kinds=[CONFIGMAP], probe_interval=0.05).start()
    try:
        wait_for(lambda: watcher.health() == "live", message="live")
        assert watcher.stale() == ""
        path = watcher.path
        path.stop()
        time.sleep(0.2)  # a probe in flight ends; a stopped monitor changes nothing after
        path._last_ok -= 60  # as if no probe had been answered for a minute
        path._down = True
        assert watcher.stale().startswith("stale for 6")
        assert watcher.health() == watcher.stale()  # the reflectors still think they are live
    finally:
        watcher.stop()


def test_stale_health_keeps_how_long_in_the_narrowest_header():
    from kdash.kube.watcher import _duration
    from kdash.widgets.status import header_text

    assert [_duration(s) for s in (7.9, 99.5, 100, 5999, 6000, 86400)] == ["7s", "99s", "1m", "99m", "1h", "24h"]
    for health in ("stale for 99s, reconnecting", "stale for 59m, reconnecting"):
        shown = header_text(45, context="arn:aws:eks:eu-west-1:123456789012:cluster/production-main",
                            namespace="payments-prod", version="v1.29.3", view="Deployments", readonly=True,
                            health=health).plain
        assert "READONLY" in shown and health.split(",")[0] in shown, shown
