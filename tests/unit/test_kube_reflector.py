"""Reflector and Watcher against a small scripted fake API server (plain HTTP, chunked watches)."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from kdash.core.kinds import CONFIGMAP, NAMESPACE
from kdash.kube.client import connect
from kdash.kube.reflector import Backoff, Reflector
from kdash.kube.store import Store
from kdash.kube.watcher import Watcher

END = object()


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {message}")


class FakeApi:
    """Serves LIST (paged) and WATCH (chunked) for core/v1 collections from an in-memory map."""

    def __init__(self, port: int = 0) -> None:
        self.lock = threading.Lock()
        self.objects: dict[str, dict[tuple[str, str], dict]] = {}
        self.rv = 100
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        self.watchers: list[tuple[str, str | None, queue.Queue]] = []
        self.fail_with: int | None = None
        self.list_delay: dict[str, float] = {}  # plural -> seconds before its LIST answers
        self.lists: list[tuple[float, str]] = []  # (when asked, plural) of every LIST
        self.close_watches_at_once = False
        self.closing = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                api.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.closing = True
        with self.lock:
            for _, _, events in self.watchers:
                events.put(END)
        self.server.shutdown()
        self.server.server_close()

    # -- state changes ------------------------------------------------------------------

    def put(self, plural: str, name: str, namespace: str = "default", notify: bool = True,
            **data: Any) -> dict:
        with self.lock:
            self.rv += 1
            items = self.objects.setdefault(plural, {})
            event = "MODIFIED" if (namespace, name) in items else "ADDED"
            obj = {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                                "resourceVersion": str(self.rv)}, "data": data}
            if plural == "namespaces":
                del obj["metadata"]["namespace"]
                namespace = ""
            items[(namespace, name)] = obj
        if notify:
            self.emit(plural, namespace, {"type": event, "object": obj})
        return obj

    def remove(self, plural: str, name: str, namespace: str = "default",
               notify: bool = True) -> None:
        with self.lock:
            self.rv += 1
            obj = self.objects[plural].pop((namespace, name))
            obj["metadata"]["resourceVersion"] = str(self.rv)
        if notify:
            self.emit(plural, namespace, {"type": "DELETED", "object": obj})

    def emit(self, plural: str, namespace: str, event: dict) -> None:
        self.send_raw(plural, namespace, json.dumps(event).encode() + b"\n")

    def send_raw(self, plural: str, namespace: str, data: bytes) -> None:
        with self.lock:
            for watched, ns, events in self.watchers:
                if watched == plural and ns in (None, namespace or None):
                    events.put(data)

    def watch_requests(self) -> int:
        return sum(1 for _, kind, _ in self.requests if kind == "watch")

    def list_requests(self) -> list[dict[str, str]]:
        return [query for _, kind, query in self.requests if kind == "list"]

    # -- HTTP -----------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/version":
            return self.reply(handler, 200, {"gitVersion": "v1.20.2-fake"})
        parts = url.path.strip("/").split("/")  # api v1 [namespaces ns] plural
        namespace = parts[3] if len(parts) == 5 else None
        plural = parts[-1]
        watch = query.get("watch") == "true"
        with self.lock:
            self.requests.append((time.monotonic(), "watch" if watch else "list", query))
            if not watch:
                self.lists.append((time.monotonic(), plural))
        if not watch and plural in self.list_delay:
            time.sleep(self.list_delay[plural])
        if self.fail_with:
            status = {"kind": "Status", "code": self.fail_with, "reason": "Nope",
                      "message": f"{plural} is not allowed ({self.fail_with})"}
            return self.reply(handler, self.fail_with, status)
        if watch:
            return self.stream(handler, plural, namespace, int(query.get("timeoutSeconds", 5)))
        return self.list(handler, plural, namespace, query)

    def list(self, handler, plural: str, namespace: str | None, query: dict[str, str]) -> None:
        with self.lock:
            items = [obj for (ns, _), obj in sorted(self.objects.get(plural, {}).items())
                     if namespace is None or ns == namespace]
            rv = str(self.rv)
        start = int(query.get("continue", 0))
        limit = int(query.get("limit", 500))
        page = items[start:start + limit]
        metadata = {"resourceVersion": rv}
        if start + limit < len(items):
            metadata["continue"] = str(start + limit)
        self.reply(handler, 200, {"kind": "List", "metadata": metadata, "items": page})

    def stream(self, handler, plural: str, namespace: str | None, timeout: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        events: queue.Queue = queue.Queue()
        entry = (plural, namespace, events)
        with self.lock:
            self.watchers.append(entry)
        deadline = time.monotonic() + timeout
        try:
            while not self.closing and not self.close_watches_at_once:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    data = events.get(timeout=min(remaining, 0.05))
                except queue.Empty:
                    continue
                if data is END:
                    break
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except OSError:
            pass  # the client went away
        finally:
            with self.lock:
                self.watchers.remove(entry)

    def reply(self, handler, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def watching(self, plural: str) -> bool:
        with self.lock:
            return any(watched == plural for watched, _, _ in self.watchers)


@pytest.fixture
def api():
    fake = FakeApi()
    yield fake
    fake.close()


def write_kubeconfig(path, server: str) -> str:
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "me",
                                                  "namespace": "default"}}],
        "users": [{"name": "me", "user": {"token": "secret"}}],
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture
def connection(api, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    conn = connect(write_kubeconfig(tmp_path / "kubeconfig", api.url), None)
    yield conn
    conn.close()


class Changes:
    """Records on_change calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, kind: str) -> None:
        self.calls.append(kind)


def names(store: Store, kind: str = "ConfigMap") -> list[str]:
    return sorted(o["metadata"]["name"] for o in store.list(kind))


def start_reflector(connection, store: Store, namespace: str | None = "default",
                    on_change: Callable[[str], None] | None = None, **kwargs: Any) -> Reflector:
    reflector = Reflector(connection.api_client, CONFIGMAP, namespace, store,
                          on_change or (lambda _kind: None), threading.Event(), **kwargs)
    reflector.start()
    return reflector


@pytest.fixture
def reflectors():
    started: list[Reflector] = []
    yield started
    for reflector in started:
        reflector.stop()
    for reflector in started:
        reflector.join(2)


def test_connect_probes_the_server_version(connection):
    assert connection.server_version() == "v1.20.2-fake"
    assert connection.namespace == "default"


def test_list_then_watch_tracks_adds_updates_and_deletes(api, connection, reflectors):
    api.put("configmaps", "a", x="1")
    api.put("configmaps", "b")
    api.put("configmaps", "elsewhere", namespace="other")
    store, changes = Store(), Changes()
    reflector = start_reflector(connection, store, on_change=changes)
    reflectors.append(reflector)
    wait_for(lambda: reflector.state == "live" and api.watching("configmaps"), message="live")
    assert names(store) == ["a", "b"]
    assert store.get("ConfigMap", "default", "a")["kind"] == "ConfigMap"
    assert "ConfigMap" in changes.calls

    api.put("configmaps", "c")
    api.put("configmaps", "a", x="2")
    api.remove("configmaps", "b")
    wait_for(lambda: names(store) == ["a", "c"], message="add + delete")
    wait_for(lambda: store.get("ConfigMap", "default", "a")["data"] == {"x": "2"},
             message="update")
    assert reflector.resource_version == str(api.rv)
    assert reflector.list_count == 1
    assert store.state("ConfigMap", "default").state == "live"


def test_list_follows_continue_tokens(api, connection, reflectors):
    for i in range(7):
        api.put("configmaps", f"cm-{i}")
    store = Store()
    reflectors.append(start_reflector(connection, store, page_size=3))
    wait_for(lambda: len(store.list("ConfigMap")) == 7, message="7 objects")
    pages = api.list_requests()
    assert [q.get("continue") for q in pages] == [None, "3", "6"]
    assert all(q["limit"] == "3" for q in pages)


def test_watch_query_asks_for_bookmarks_and_a_server_timeout(api, connection, reflectors):
    reflectors.append(start_reflector(connection, Store(), watch_timeout=7))
    wait_for(lambda: api.watch_requests() == 1, message="a watch")
    watch = [q for _, kind, q in api.requests if kind == "watch"][0]
    assert watch["allowWatchBookmarks"] == "true"
    assert watch["timeoutSeconds"] == "7"
    assert watch["resourceVersion"] == str(api.rv)


def test_events_split_across_chunks_and_bookmarks(api, connection, reflectors):
    store, changes = Store(), Changes()
    reflector = start_reflector(connection, store, on_change=changes)
    reflectors.append(reflector)
    wait_for(lambda: api.watching("configmaps"), message="watch")
    first = json.dumps({"type": "ADDED", "object": {"metadata": {
        "name": "split", "namespace": "default", "resourceVersion": "201"}}}).encode()
    second = json.dumps({"type": "ADDED", "object": {"metadata": {
        "name": "whole", "namespace": "default", "resourceVersion": "202"}}}).encode()
    api.send_raw("configmaps", "default", first[:10])
    api.send_raw("configmaps", "default", first[10:30])
    time.sleep(0.1)  # let the partial chunks arrive on their own
    assert names(store) == []
    api.send_raw("configmaps", "default", first[30:] + b"\n" + second + b"\n")
    wait_for(lambda: names(store) == ["split", "whole"], message="both events")
    assert reflector.resource_version == "202"

    calls = len(changes.calls)
    bookmark = {"type": "BOOKMARK", "object": {"kind": "ConfigMap",
                                               "metadata": {"resourceVersion": "999"}}}
    api.emit("configmaps", "default", bookmark)
    wait_for(lambda: reflector.resource_version == "999", message="bookmark rv")
    assert names(store) == ["split", "whole"]
    assert len(changes.calls) == calls


def test_expired_watch_relists_and_drops_ghosts(api, connection, reflectors):
    api.put("configmaps", "stays")
    api.put("configmaps", "ghost")
    store = Store()
    reflector = start_reflector(connection, store)
    reflectors.append(reflector)
    wait_for(lambda: api.watching("configmaps") and names(store) == ["ghost", "stays"],
             message="initial list")
    # Changes the watch never reports, then the server says the rv is too old.
    api.remove("configmaps", "ghost", notify=False)
    api.put("configmaps", "new", notify=False)
    api.emit("configmaps", "default", {"type": "ERROR", "object": {
        "kind": "Status", "code": 410, "reason": "Expired",
        "message": "too old resource version: 100 (150)"}})
    wait_for(lambda: names(store) == ["new", "stays"], message="relisted store")
    assert reflector.list_count == 2
    assert reflector.state == "live"


def test_forbidden_sets_the_state_and_does_not_hot_loop(api, connection, reflectors):
    api.fail_with = 403
    store = Store()
    reflector = start_reflector(connection, store)
    reflectors.append(reflector)
    wait_for(lambda: reflector.state == "forbidden", message="forbidden")
    assert reflector.last_error.title == "Forbidden"
    assert "configmaps is not allowed" in reflector.last_error.message
    assert store.state("ConfigMap", "default").state == "forbidden"
    time.sleep(0.5)
    assert len(api.requests) == 1


def test_unauthorized_reloads_credentials_once_then_waits(api, connection, reflectors):
    api.fail_with = 401
    reloads = []
    original = connection._reload

    def counting_reload(configuration):
        reloads.append(time.monotonic())
        original(configuration)

    connection._reload = counting_reload
    reflector = start_reflector(connection, Store())
    reflectors.append(reflector)
    wait_for(lambda: reflector.state == "unauthorized", message="unauthorized")
    time.sleep(0.3)
    # The REST layer reloaded the kubeconfig once and retried once; then the reflector waits.
    assert len(reloads) == 1
    assert len(api.requests) == 2
    assert reflector.last_error is not None


def test_server_errors_back_off_then_recover(api, connection, reflectors):
    api.fail_with = 503
    api.put("configmaps", "a")
    store = Store()
    reflector = start_reflector(connection, store, backoff=Backoff(0.1, 0.4))
    reflectors.append(reflector)
    wait_for(lambda: reflector.state == "reconnecting", message="reconnecting")
    time.sleep(1.0)
    # 0.1 + 0.2 + 0.4 + 0.4 (±25 %) ≈ 1.1 s: at most ~5 attempts, never a hot loop.
    assert 2 <= len(api.requests) <= 6
    api.fail_with = None
    wait_for(lambda: reflector.state == "live" and names(store) == ["a"], message="recovered")
    assert reflector.last_error is None


def test_watches_that_close_at_once_are_throttled(api, connection, reflectors):
    api.close_watches_at_once = True
    reflectors.append(start_reflector(connection, Store(), backoff=Backoff(0.2, 1.0)))
    time.sleep(1.0)
    assert 1 <= api.watch_requests() <= 4


def test_connection_refused_reconnects_when_the_server_comes_back(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    connection = connect(path, None, probe=False)
    store = Store()
    reflector = start_reflector(connection, store, backoff=Backoff(0.1, 0.3))
    try:
        wait_for(lambda: reflector.state == "reconnecting", message="reconnecting")
        assert reflector.last_error.title == "Cannot reach the API server"
        late = FakeApi(port)
        try:
            late.put("configmaps", "back")
            wait_for(lambda: names(store) == ["back"], message="recovered list")
            assert reflector.state == "live"
        finally:
            reflector.stop()
            reflector.join(2)
            late.close()
    finally:
        reflector.stop()


def test_stop_returns_promptly_while_the_watch_is_idle(api, connection):
    reflector = start_reflector(connection, Store(), watch_timeout=60)
    wait_for(lambda: api.watching("configmaps"), message="watch")
    time.sleep(0.1)
    started = time.monotonic()
    reflector.stop()
    reflector.join(1.0)
    assert not reflector.is_alive()
    assert time.monotonic() - started < 1.0


def test_watcher_switches_namespace_without_leftovers(api, connection):
    api.put("namespaces", "one")
    api.put("namespaces", "two")
    api.put("configmaps", "in-one", namespace="one")
    api.put("configmaps", "in-two", namespace="two")
    changes = Changes()
    watcher = Watcher(connection, "one", kinds=[CONFIGMAP, NAMESPACE], on_change=changes).start()
    try:
        wait_for(lambda: watcher.health() == "live", message="live")
        assert names(watcher.store) == ["in-one"]
        assert names(watcher.store, "Namespace") == ["one", "two"]
        namespace_reflector = next(r for r in watcher.reflectors if r.kind is NAMESPACE)
        assert namespace_reflector.namespace is None

        watcher.switch_namespace("two")
        # The new reflector may already have listed "two"; what must never show is "one"'s object.
        assert "in-one" not in names(watcher.store)
        wait_for(lambda: names(watcher.store) == ["in-two"], message="namespace two")
        wait_for(lambda: watcher.health() == "live", message="live again")
        assert names(watcher.store, "Namespace") == ["one", "two"]
        assert namespace_reflector in watcher.reflectors  # cluster-scoped kinds keep running

        watcher.switch_namespace(None)
        wait_for(lambda: names(watcher.store) == ["in-one", "in-two"], message="all namespaces")
    finally:
        # True means every reflector thread ended within stop()'s one-second bound.
        assert watcher.stop() is True
    assert watcher.store.states() == {}


def first_list_times(api: FakeApi) -> dict[str, float]:
    times: dict[str, float] = {}
    for when, plural in api.lists:
        times.setdefault(plural, when)
    return times


def test_the_first_views_kinds_are_listed_before_the_others(api, connection):
    api.put("configmaps", "cm")
    api.list_delay["configmaps"] = 0.4
    watcher = Watcher(connection, "default", kinds=[CONFIGMAP, NAMESPACE], first={"ConfigMap"},
                      probe_interval=None).start()
    try:
        wait_for(lambda: watcher.health() == "live", message="live")
        times = first_list_times(api)
        assert times["namespaces"] - times["configmaps"] >= 0.35  # asked once the ConfigMaps answered
        api.list_delay["configmaps"] = 0.0
        api.list_delay["namespaces"] = 0.4
        watcher.first = frozenset({"Namespace"})  # (a namespace switch restarts namespaced kinds only)
        api.lists.clear()
        watcher.switch_namespace("other")
        wait_for(lambda: watcher.health() == "live", message="live again")
        assert "configmaps" in first_list_times(api)  # nothing first among them: no wait
    finally:
        assert watcher.stop() is True


def test_the_others_wait_at_most_a_second_for_a_first_kind_that_hangs_or_fails(api, connection):
    from kdash.kube import reflector

    api.list_delay["configmaps"] = 3.0
    watcher = Watcher(connection, "default", kinds=[CONFIGMAP, NAMESPACE], first={"ConfigMap"},
                      probe_interval=None).start()
    try:
        wait_for(lambda: "namespaces" in first_list_times(api), message="namespaces listed")
        times = first_list_times(api)
        assert times["namespaces"] - times["configmaps"] < reflector.FIRST_WAIT + 0.3
    finally:
        watcher.stop()  # (a LIST the server has not begun to answer is not interrupted: not checked)
    api.list_delay.clear()
    api.lists.clear()
    api.fail_with = 403
    watcher = Watcher(connection, "default", kinds=[CONFIGMAP, NAMESPACE], first={"ConfigMap"},
                      probe_interval=None).start()
    try:
        wait_for(lambda: "namespaces" in first_list_times(api), timeout=0.8, message="asked at once")
    finally:
        watcher.stop()


def test_watcher_health_names_forbidden_kinds(api, connection):
    api.fail_with = 403
    watcher = Watcher(connection, "default", kinds=[CONFIGMAP]).start()
    try:
        wait_for(lambda: watcher.health() == "forbidden: configmaps", message="forbidden")
    finally:
        watcher.stop()


def test_event_feed_watches_one_object_by_field_selector_and_retires_cleanly(api, connection):
    from kdash.kube.events import EventFeed, event_selector

    assert event_selector("Pod", "web-1", "u-1") == "involvedObject.uid=u-1"
    assert event_selector("Node", "n1", None) == "involvedObject.kind=Node,involvedObject.name=n1"
    api.put("events", "e1")
    store, changes = Store(), Changes()
    feed = EventFeed(connection, store, changes, watch_timeout=5)
    try:
        feed.follow("Pod", "default", "web-1", "u-1")
        first = feed.reflector
        wait_for(lambda: api.watching("events"), message="the events watch")
        assert all(q.get("fieldSelector") == "involvedObject.uid=u-1" for _, _, q in api.requests)
        assert [o["metadata"]["name"] for o in store.list("Event")] == ["e1"]
        feed.follow("Pod", "default", "web-1", "u-1")  # the same object: nothing restarts
        assert feed.reflector is first
        feed.follow("Deployment", None, "web", "u-2")  # cluster-scoped case → the default namespace
        assert first.stopped and feed.reflector is not first
        wait_for(lambda: any(q.get("fieldSelector") == "involvedObject.uid=u-2" for _, _, q in api.requests),
                 message="the new selector")
    finally:
        feed.stop()
    assert store.list("Event") == [] and store.state("Event", "default") is None
