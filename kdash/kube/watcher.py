"""Runs one Reflector per watched kind and switches them between namespaces."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from kdash.core.kinds import ENDPOINTS, WATCHED_KINDS, Kind
from kdash.kube.client import Connection
from kdash.kube.endpointslices import EndpointsReflector
from kdash.kube.namespaces import split
from kdash.kube.path import PROBE_INTERVAL, PathMonitor
from kdash.kube.reflector import FirstLists, Reflector
from kdash.kube.store import Store, summarize_states

STOP_TIMEOUT = 1.0


class Watcher:
    """Keeps a Store in sync with the cluster for `kinds` in `namespace` (None = all namespaces).

    Cluster-scoped kinds (Namespaces) are always watched cluster-wide and survive a namespace
    switch. Namespaced kinds run under their own stop event, so a switch can retire them
    atomically: writes of a retired reflector are dropped by the store.
    """

    def __init__(
        self,
        connection: Connection,
        namespace: str | None,
        kinds: Iterable[Kind] = WATCHED_KINDS,
        on_change: Callable[[str], None] | None = None,
        *,
        store: Store | None = None,
        watch_timeout: int = 45,
        probe_interval: float | None = PROBE_INTERVAL,
        first: Iterable[str] = (),
    ) -> None:
        """`probe_interval`: how often a PathMonitor probes the server (None: no probe).
        `first`: kind names listed before the others on each (re)start, e.g. what the first
        view shows (the others wait for them, at most reflector.FIRST_WAIT)."""
        self.connection = connection
        self.namespace = namespace
        self.kinds = tuple(kinds)
        self.on_change = on_change or (lambda _kind: None)
        self.store = store if store is not None else Store()
        self.watch_timeout = watch_timeout
        self._lock = threading.Lock()
        self._cluster_stop = threading.Event()
        self._namespaced_stop = threading.Event()
        self._cluster: list[Reflector] = []
        self._namespaced: list[Reflector] = []
        self._started = False
        self.probe_interval = probe_interval
        self.first = frozenset(first)
        self.path: PathMonitor | None = None

    @property
    def reflectors(self) -> list[Reflector]:
        with self._lock:
            return [*self._cluster, *self._namespaced]

    def start(self) -> Watcher:
        with self._lock:
            if self._started:
                return self
            self._started = True
            # Fresh events: a Watcher may be started again after stop().
            self._cluster_stop = threading.Event()
            self._namespaced_stop = threading.Event()
            if self.probe_interval is not None:
                self.path = PathMonitor(self.connection.api_client.configuration, on_lost=self._path_lost,
                                        on_back=self._path_back, interval=self.probe_interval).start()
            cluster = [(k, None) for k in self.kinds if not k.namespaced]
            gate = self._gate([*cluster, *self._namespaced_pairs(self.namespace)])
            self._cluster = [self._reflector(k, None, self._cluster_stop, gate) for k, _ in cluster]
            self._namespaced = self._start_namespaced(self.namespace, gate)
            for reflector in self._cluster:
                reflector.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop every reflector; True if all threads ended within `timeout` seconds."""
        with self._lock:
            reflectors = [*self._cluster, *self._namespaced]
            self._cluster, self._namespaced = [], []
            self._started = False
            path, self.path = self.path, None
        if path is not None:
            path.stop()
        self._cluster_stop.set()
        self._namespaced_stop.set()
        return _retire(reflectors, self.store, timeout)

    def switch_namespace(self, namespace: str | None, timeout: float = STOP_TIMEOUT) -> None:
        """Watch another namespace (None = all): retire the namespaced reflectors, drop their
        objects, start new ones. The caller's on_change fires as the new lists arrive."""
        self.retire(self.begin_switch(namespace), timeout)

    def begin_switch(self, namespace: str | None) -> list[Reflector]:
        """The part of a switch that never blocks: the old namespace's objects and states are gone
        from the store when this returns, new reflectors are starting. Returns the old reflectors,
        for retire() (which may block for up to its timeout)."""
        with self._lock:
            old = self._namespaced
            self._namespaced_stop.set()  # first: any write still in flight from `old` is now refused
            for kind in self.kinds:
                if kind.namespaced:
                    self.store.clear(kind.name)
            self.namespace = namespace
            self._namespaced_stop = threading.Event()
            self._namespaced = self._start_namespaced(namespace) if self._started else []
        return old

    def retire(self, old: list[Reflector], timeout: float = STOP_TIMEOUT) -> None:
        """Join the reflectors begin_switch() replaced (their states already went with the clear)."""
        _retire(old, self.store, timeout, drop_states=False)
        for kind in self.kinds:
            if kind.namespaced:
                self.on_change(kind.name)

    def health(self) -> str:
        """"live", "starting", "reconnecting", e.g. "forbidden: pods, services"; while the path
        is silent "stale for 7s" first (", reconnecting" after it once the watches know)."""
        summary = summarize_states(self.store.states())
        stale = self.stale()
        if not stale:
            return summary
        return f"{stale}, {summary}" if summary == "reconnecting" else stale

    def stale(self) -> str:
        """"stale for 7s" while the path to the server is silent (what is shown may be old), else ""."""
        path = self.path
        seconds = path.stale_for() if path is not None else None
        return "" if seconds is None else f"stale for {_duration(seconds)}"

    # -- a silent path ------------------------------------------------------------------------

    def _path_lost(self) -> None:
        """Every read on the connection is stuck on the silent path: fail them now (writes in
        flight too, so they report instead of hanging); reflectors then wait for the path."""
        self.connection.abandon_connections()
        self.on_change("Namespace")  # any kind: the header says stale at the next flush

    def _path_back(self) -> None:
        """Sockets opened before or during the silence may stay frozen: drop them all, and let
        every reflector reconnect (resume its watch, or relist) without a backoff wait."""
        self.connection.abandon_connections()
        for reflector in self.reflectors:
            reflector.reconnect()
    # -- internals ------------------------------------------------------------------------

    def _namespaced_pairs(self, namespace: str | None) -> list[tuple[Kind, str | None]]:
        # A subset "a,b" runs one reflector per kind and namespace.
        return [(k, each) for each in split(namespace) for k in self.kinds if k.namespaced]

    def _gate(self, pairs: list[tuple[Kind, str | None]]) -> FirstLists:
        """The first kinds' lists go ahead of the others' (FirstLists)."""
        return FirstLists(sum(1 for k, _ in pairs if k.name in self.first))

    def _start_namespaced(self, namespace: str | None, gate: FirstLists | None = None) -> list[Reflector]:
        pairs = self._namespaced_pairs(namespace)
        gate = gate or self._gate(pairs)
        reflectors = [self._reflector(k, each, self._namespaced_stop, gate) for k, each in pairs]
        for reflector in reflectors:
            reflector.start()
        return reflectors

    def _reflector(self, kind: Kind, namespace: str | None, stop: threading.Event,
                   gate: FirstLists) -> Reflector:
        # Endpoints come from EndpointSlices where the server serves them (kube/endpointslices.py).
        reflector_class = EndpointsReflector if kind.name == ENDPOINTS.name else Reflector
        return reflector_class(
            self.connection.api_client,
            kind,
            namespace,
            self.store,
            self.on_change,
            stop,
            watch_timeout=self.watch_timeout,
            path_usable=self.path.usable if self.path is not None else None,
            first=gate if kind.name in self.first else None,
            after=None if kind.name in self.first else gate,
        )


def _duration(seconds: float) -> str:
    """At most two digits and a unit, so the header's narrowest health still says how long."""
    if seconds < 100:
        return f"{int(seconds)}s"
    if seconds < 100 * 60:
        return f"{int(seconds // 60)}m"
    return f"{int(seconds // 3600)}h"


def _retire(reflectors: list[Reflector], store: Store, timeout: float, drop_states: bool = True) -> bool:
    """Interrupt and join reflectors (their stop events are already set) within `timeout`.

    A namespace switch passes drop_states=False: its clear already dropped them, and dropping by
    (kind, namespace) now could hit the state of a newer reflector for the same namespace."""
    for reflector in reflectors:
        reflector.interrupt()
    deadline = time.monotonic() + timeout
    for reflector in reflectors:
        reflector.join(max(0.0, deadline - time.monotonic()))
        if drop_states:
            store.drop_state(reflector.kind.name, reflector.namespace)
    # Threads still alive are daemons stuck in a connect; they exit on their own and their
    # writes are refused because their stop event is set.
    return not any(reflector.is_alive() for reflector in reflectors)
