"""A byte-level TCP proxy for tests: pass, stall without closing (a dead NAT), or add latency."""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from pathlib import Path

from devcluster import cluster as devcluster

CHUNK = 65536


class TcpProxy:
    """Listens on 127.0.0.1:<port> and forwards every connection to `upstream` (host, port).

    stall(): every connection open now or opened later is frozen for good: nothing is forwarded
    either way and nothing is closed, as when a NAT or tunnel loses its state. resume(): new
    connections work again; frozen ones stay frozen (their packets would go nowhere).
    latency: seconds added to every chunk the server sends (order kept), so each answer is late.
    TLS passes through untouched: only bytes are moved.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.latency = 0.0
        self._stalled = False
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._pipes: list[_Pipe] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    @property
    def address(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stall(self) -> None:
        with self._lock:
            self._stalled = True
            for pipe in self._pipes:
                pipe.frozen = True

    def resume(self) -> None:
        with self._lock:
            self._stalled = False

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            pipes, self._pipes = self._pipes, []
        for pipe in pipes:
            pipe.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            pipe = _Pipe(self, client, server)
            with self._lock:
                pipe.frozen = self._stalled
                self._pipes.append(pipe)
            pipe.start()


class _Pipe:
    """One proxied connection: a reader per direction; server→client chunks wait `latency`."""

    def __init__(self, proxy: TcpProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.server = server
        self.frozen = False
        self._queue: list[tuple[float, int, bytes | None]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()

    def start(self) -> None:
        for target, name in ((self._upstream, "up"), (self._downstream, "down"), (self._deliver, "deliver")):
            threading.Thread(target=target, name=f"proxy-{name}", daemon=True).start()

    def close(self) -> None:
        for sock in (self.client, self.server):
            try:
                sock.close()
            except OSError:
                pass
        with self._ready:
            self._ready.notify_all()

    def _hold_if_frozen(self) -> bool:
        """A frozen connection moves nothing until the proxy closes; True then (stop pumping)."""
        if not self.frozen:
            return False
        self.proxy._closed.wait()
        return True

    def _upstream(self) -> None:
        while True:
            try:
                data = self.client.recv(CHUNK)
            except OSError:
                data = b""
            if self._hold_if_frozen():
                return
            if not data:
                _shutdown(self.server)
                return
            try:
                self.server.sendall(data)
            except OSError:
                return

    def _downstream(self) -> None:
        while True:
            try:
                data = self.server.recv(CHUNK)
            except OSError:
                data = b""
            if self._hold_if_frozen():
                return
            with self._ready:
                heapq.heappush(self._queue, (time.monotonic() + self.proxy.latency, next(self._order),
                                             data or None))
                self._ready.notify()
            if not data:
                return

    def _deliver(self) -> None:
        while not self.proxy._closed.is_set():
            with self._ready:
                while not self._queue and not self.proxy._closed.is_set():
                    self._ready.wait(0.5)
                if not self._queue:
                    return
                due, _, data = self._queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._ready.wait(wait)
                    continue
                heapq.heappop(self._queue)
            if self._hold_if_frozen():
                return
            if data is None:
                _shutdown(self.client)
                return
            try:
                self.client.sendall(data)
            except OSError:
                return


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def proxied_kubeconfig(cluster, proxy: TcpProxy, path: Path) -> str:
    """A kubeconfig like the cluster's admin one, but whose server is the proxy; returns its path."""
    devcluster.write_kubeconfig(path, proxy.address, Path(cluster.ca_file), devcluster.ADMIN_TOKEN)
    return str(path)


def upstream_of(cluster) -> tuple[str, int]:
    host_port = cluster.server.split("://", 1)[1].rstrip("/")
    host, port = host_port.rsplit(":", 1)
    return host, int(port)
