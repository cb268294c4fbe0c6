"""Runs one Reflector per watched kind and switches them between namespaces."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from kdash.core.kinds import WATCHED_KINDS, Kind
from kdash.kube.client import Connection
from kdash.kube.namespaces import split
from kdash.kube.reflector import Reflector
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
    ) -> None:
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
            self._cluster = [self._reflector(k, None, self._cluster_stop)
                             for k in self.kinds if not k.namespaced]
            self._namespaced = self._start_namespaced(self.namespace)
            for reflector in self._cluster:
                reflector.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop every reflector; True if all threads ended within `timeout` seconds."""
        with self._lock:
            reflectors = [*self._cluster, *self._namespaced]
            self._cluster, self._namespaced = [], []
            self._started = False
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
        """"live", "starting", "reconnecting", or e.g. "forbidden: pods, services"."""
        return summarize_states(self.store.states())

    # -- internals ------------------------------------------------------------------------

    def _start_namespaced(self, namespace: str | None) -> list[Reflector]:
        # A subset "a,b" runs one reflector per kind and namespace.
        reflectors = [self._reflector(k, each, self._namespaced_stop)
                      for each in split(namespace) for k in self.kinds if k.namespaced]
        for reflector in reflectors:
            reflector.start()
        return reflectors

    def _reflector(self, kind: Kind, namespace: str | None, stop: threading.Event) -> Reflector:
        return Reflector(
            self.connection.api_client,
            kind,
            namespace,
            self.store,
            self.on_change,
            stop,
            watch_timeout=self.watch_timeout,
        )


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
