"""Port-forward to a Pod or a Service through the API server's `portforward` subresource over WebSocket.

A local listener (127.0.0.1 by default) opens one WebSocket per accepted connection to
`/pods/POD/portforward?ports=P`: data on channel 0, errors on channel 1, the first frame of each
carrying the port (2 bytes, little-endian). A Service forward follows its Endpoints: when the pod it
uses stops being a ready address (a rollout, a delete) it moves to another ready pod, and the local
port never changes.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from kdash.core.kinds import POD, SERVICE
from kdash.core.objects import is_terminating
from kdash.errors import ApiException, KdashError, describe_api_error
from kdash.kube.api import ApiClient
from kdash.kube.client import get_json
from kdash.kube.endpointslices import read_endpoints
from kdash.kube.stream import ChannelSocket, open_channels

DATA, ERROR = 0, 1
POLL_EVERY = 0.5  # seconds between checks of the target (Endpoints or Pod)
SERVICE_EVERY = 10.0  # seconds between re-reads of a forwarded Service's ports
ACCEPT_TICK = 0.25  # how often the accept loop looks at the stop flag
ACTIVE, RECONNECTING, FAILED, STOPPED = "active", "reconnecting", "failed", "stopped"


def check_port(port: int, what: str) -> int:
    """A TCP port 1-65535, or KdashError saying which one is wrong."""
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise KdashError("Invalid port", f"{what} {port!r} is out of range (1-65535)")
    return port


def bind(address: str, port: int) -> socket.socket:
    """A listening socket on address:port, or KdashError (in use, not allowed, bad address)."""
    check_port(port, "local port")
    try:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise KdashError("Cannot listen", f"{address}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not past a live listener, only TIME_WAIT
        sock.bind((address, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise KdashError("Port in use", f"{address}:{port} is already in use; pick another local port") from exc
        if exc.errno == errno.EACCES:
            raise KdashError("Port not allowed", f"{address}:{port} needs privileges; pick a port above 1023") from exc
        raise KdashError("Cannot listen", f"{address}:{port}: {exc.strerror or exc}") from exc
    return sock


def suggest_local_port(remote_port: int, address: str = "127.0.0.1", tries: int = 100) -> int:
    """The remote port if free here, else the next free one above it (unprivileged when it must)."""
    start = remote_port if remote_port >= 1024 else remote_port + 8000
    for port in range(start, min(start + tries, 65536)):
        try:
            bind(address, port).close()
            return port
        except KdashError:
            continue
    return 0


@dataclass(frozen=True)
class ForwardStatus:
    """What a forwards view shows about one forward."""

    target: str  # "Service/ns/web:80" or "Pod/ns/web-1:8080"
    local: str  # "127.0.0.1:8080"
    state: str  # active / reconnecting / failed / stopped
    reason: str  # why failed (or what it is doing)
    pod: str | None  # the pod currently used
    connections: int  # accepted so far
    open_connections: int
    bytes_in: int  # from the pod to local clients
    bytes_out: int  # from local clients to the pod
    last_error: str = ""  # the latest connection that could not be forwarded, and why


class PortForward:
    """One local port forwarded to a Pod or Service port; start() binds, stop() ends everything."""

    def __init__(self, api_client: ApiClient, namespace: str, kind: str, name: str, remote_port: int,
                 local_port: int | None = None, address: str = "127.0.0.1",
                 poll_every: float = POLL_EVERY) -> None:
        if kind not in ("Pod", "Service"):
            raise KdashError("Cannot forward", f"{kind} has no ports to forward (only Pods and Services)")
        self.api_client = api_client
        self.namespace, self.kind, self.name = namespace, kind, name
        self.remote_port = check_port(remote_port, "remote port")
        self.local_port = check_port(local_port if local_port is not None else remote_port, "local port")
        self.address = address
        self.poll_every = poll_every
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._open: set[_Pipe] = set()
        self._state, self._reason = RECONNECTING, "starting"
        self._pod: str | None = None
        self._pod_port: int | None = None
        self._connections = self._bytes_in = self._bytes_out = 0
        self._last_error = ""
        self._service: dict[str, Any] | None = None
        self._service_read_at = 0.0

    # -- lifecycle

    @property
    def target(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}:{self.remote_port}"

    @property
    def local(self) -> str:
        return f"{self.address}:{self.local_port}"

    def start(self) -> PortForward:
        """Bind (KdashError if the port is taken: nothing is left open), pick a pod, start serving."""
        self._listener = bind(self.address, self.local_port)
        self._listener.settimeout(ACCEPT_TICK)
        try:
            # A missing target or port is a bad request, not a state: say so now, keep nothing open.
            self._refresh_pod() if self.kind == "Pod" else self._refresh_service()
        except BaseException as exc:
            self._listener.close()
            if isinstance(exc, ApiException) and exc.status == 404:
                raise KdashError("Not found", f"{self.kind.lower()} {self.namespace}/{self.name} not found") from exc
            if isinstance(exc, Exception):
                raise describe_api_error(exc) from exc
            raise
        for name, loop in (("accept", self._accept_loop), ("watch", self._watch_loop)):
            thread = threading.Thread(target=loop, name=f"kdash-forward-{name}-{self.local_port}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self) -> ForwardStatus:
        """Close the listener and every forwarded connection, join the threads; the final status."""
        self._stop.set()
        for thread in self._threads:  # no new connection once the accept loop has ended
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            pipes = list(self._open)
        for pipe in pipes:
            pipe.close()
        for pipe in pipes:
            if pipe.thread.is_alive():
                pipe.thread.join(timeout=5)
        with self._lock:
            self._state, self._reason = STOPPED, "stopped"
        return self.status()

    def status(self) -> ForwardStatus:
        with self._lock:
            return ForwardStatus(self.target, self.local, self._state, self._reason, self._pod,
                                 self._connections, len(self._open), self._bytes_in, self._bytes_out,
                                 self._last_error)

    # -- choosing the pod

    def _set(self, state: str, reason: str, pod: str | None = None, port: int | None = None) -> None:
        with self._lock:
            if self._state != STOPPED:
                self._state, self._reason, self._pod, self._pod_port = state, reason, pod, port

    def _refresh(self) -> None:
        """Look at the target now and point the forward at a usable pod (or say why there is none)."""
        try:
            if self.kind == "Pod":
                self._refresh_pod()
            else:
                self._refresh_service()
        except ApiException as exc:
            if exc.status == 404:
                self._set(FAILED, f"{self.kind.lower()} {self.namespace}/{self.name} not found")
            else:  # a passing server error: keep using the pod we have
                self._set(RECONNECTING, describe_api_error(exc).message, self._pod, self._pod_port)
        except KdashError as exc:
            self._set(FAILED, exc.message)
        except Exception as exc:  # noqa: BLE001 - an unreachable server: keep trying on the next tick
            self._set(RECONNECTING, describe_api_error(exc).message, self._pod, self._pod_port)

    def _refresh_pod(self) -> None:
        pod = get_json(self.api_client, POD.object_path(self.namespace, self.name))
        what = f"pod {self.namespace}/{self.name}"
        if is_terminating(pod):
            self._set(FAILED, f"{what} is terminating")
        elif (pod.get("status") or {}).get("phase") != "Running":
            self._set(FAILED, f"{what} is not running ({(pod.get('status') or {}).get('phase')})")
        else:
            self._set(ACTIVE, f"{what} port {self.remote_port}", self.name, self.remote_port)

    def _refresh_service(self) -> None:
        # Endpoints move with every rollout; the Service's ports rarely change, so it is re-read seldom.
        if self._service is None or time.monotonic() - self._service_read_at > SERVICE_EVERY:
            self._service = get_json(self.api_client, SERVICE.object_path(self.namespace, self.name))
            self._service_read_at = time.monotonic()
        service = self._service
        endpoints = read_endpoints(self.api_client, self.namespace, self.name)
        ready = ready_pods(service, endpoints, self.remote_port)
        with self._lock:
            current = self._pod
        if not ready:
            self._set(FAILED, f"no ready pod behind service {self.namespace}/{self.name} port {self.remote_port}")
            return
        pod, port = next(((p, q) for p, q in ready if p == current), ready[0])
        self._set(ACTIVE, f"pod {pod} port {port}", pod, port)

    def _watch_loop(self) -> None:
        while not self._stop.wait(self.poll_every):
            self._refresh()

    # -- serving connections

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self._connections += 1
            pipe = _Pipe(self, client)
            with self._lock:
                self._open.add(pipe)
            pipe.thread.start()

    def _open_stream(self) -> ChannelSocket:
        """A WebSocket to the current pod; a failure re-reads the target once and tries the new pod."""
        last: KdashError | None = None
        for _ in range(2):
            with self._lock:
                pod, port, state, reason = self._pod, self._pod_port, self._state, self._reason
            if pod is None or state == FAILED:
                self._failed_connection(reason)
                raise KdashError("Forward failed", reason)
            try:
                return open_channels(self.api_client,
                                     POD.object_path(self.namespace, pod) + "/portforward",
                                     [("ports", port)])
            except KdashError as exc:
                last = exc
                self._refresh()
        assert last is not None
        self._failed_connection(f"{last.title}: {last.message}")
        raise last

    def _failed_connection(self, why: str) -> None:
        with self._lock:
            self._last_error = why

    def _count(self, inbound: int = 0, outbound: int = 0) -> None:
        with self._lock:
            self._bytes_in += inbound
            self._bytes_out += outbound

    def _closed(self, pipe: _Pipe) -> None:
        with self._lock:
            self._open.discard(pipe)


class _Pipe:
    """One accepted local connection and its WebSocket: two directions, two threads."""

    def __init__(self, forward: PortForward, client: socket.socket) -> None:
        self.forward, self.client = forward, client
        self.channels: ChannelSocket | None = None
        self._closing = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"kdash-forward-conn-{forward.local_port}",
                                       daemon=True)

    def close(self) -> None:
        self._closing.set()
        if self.channels is not None:
            self.channels.close()
        try:
            self.client.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _run(self) -> None:
        try:
            if self._closing.is_set():
                return
            try:
                self.channels = self.forward._open_stream()
            except KdashError:
                return  # the forward's state already says why; the client just sees a closed connection
            if self._closing.is_set():
                return
            upstream = threading.Thread(target=self._from_client, name=f"{self.thread.name}-up", daemon=True)
            upstream.start()
            self._from_pod()
            self.close()
            upstream.join(timeout=5)
        finally:
            if self.channels is not None:
                self.channels.close()
            self.client.close()
            self.forward._closed(self)

    def _from_pod(self) -> None:
        assert self.channels is not None
        seen_port = {DATA: False, ERROR: False}
        while True:
            frame = self.channels.recv()
            if frame is None:
                return
            channel, data = frame
            if channel in seen_port and not seen_port[channel]:
                seen_port[channel], data = True, data[2:]  # each channel's first frame starts with the port
            if channel == ERROR and data:
                self.forward._failed_connection(data.decode("utf-8", errors="replace"))
                return
            if channel == DATA and data:
                try:
                    self.client.sendall(data)
                except OSError:
                    return
                self.forward._count(inbound=len(data))

    def _from_client(self) -> None:
        assert self.channels is not None
        while True:
            try:
                data = self.client.recv(65536)
            except OSError:
                data = b""
            if not data:
                # The v4 protocol has no half-close: the pod side ends the stream.
                return
            try:
                self.channels.send(DATA, data)
            except Exception:  # noqa: BLE001 - the pod side is gone; _from_pod sees it too
                self.close()
                return
            self.forward._count(outbound=len(data))


def ready_pods(service: dict[str, Any], endpoints: dict[str, Any], port: int) -> list[tuple[str, int]]:
    """(pod name, container port) of every ready endpoint behind `port` of the Service."""
    ports = (service.get("spec") or {}).get("ports") or []
    wanted = next((p for p in ports if p.get("port") == port), None)
    if wanted is None:
        known = ", ".join(str(p.get("port")) for p in ports) or "none"
        raise KdashError("No such port", f"service {service['metadata']['name']} has no port {port} (ports: {known})")
    found: list[tuple[str, int]] = []
    for subset in endpoints.get("subsets") or []:
        match = next((p for p in subset.get("ports") or []
                      if p.get("name", "") == wanted.get("name", "") or len(subset.get("ports")) == 1), None)
        if match is None:
            continue
        for address in subset.get("addresses") or []:
            ref = address.get("targetRef") or {}
            if ref.get("kind") == "Pod" and ref.get("name"):
                found.append((ref["name"], int(match["port"])))
    return found


def wait_state(forward: PortForward, state: str, timeout: float = 10.0) -> ForwardStatus:
    """Poll until the forward reaches `state` (tests and the UI's first paint); the last status."""
    deadline = time.monotonic() + timeout
    status = forward.status()
    while status.state != state and time.monotonic() < deadline:
        time.sleep(0.05)
        status = forward.status()
    return status
