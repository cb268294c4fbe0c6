"""Events of the selected object only, watched with a field selector instead of every Event in scope."""

from __future__ import annotations

import threading
from collections.abc import Callable

from kdash.core.kinds import EVENT
from kdash.kube.client import Connection
from kdash.kube.path import PathMonitor
from kdash.kube.reflector import Reflector
from kdash.kube.store import Store

# Events about cluster-scoped objects (Nodes, Namespaces) are recorded in this namespace.
CLUSTER_EVENTS_NAMESPACE = "default"


def event_selector(kind: str, name: str, uid: str | None) -> str:
    """The fieldSelector for events about one object: by uid when known (no namesakes)."""
    if uid:
        return f"involvedObject.uid={uid}"
    return f"involvedObject.kind={kind},involvedObject.name={name}"


class EventFeed:
    """One Event reflector at a time, for the object the details pane shows.

    `follow` is cheap to call on every details refresh: the same object keeps its reflector.
    A retired reflector's writes are dropped by the store (its stop event is set first), and
    its events and sync state are removed so a stale "reconnecting" never lingers in the header.
    """

    def __init__(self, connection: Connection, store: Store, on_change: Callable[[str], None],
                 watch_timeout: int = 45, path: PathMonitor | None = None) -> None:
        """`path`: the watcher's PathMonitor; the feed then waits for the path like the watches do
        and reconnects with them when it comes back."""
        self.connection = connection
        self.path = path
        if path is not None:
            path.when_back(self._reconnect)
        self.store = store
        self.on_change = on_change
        self.watch_timeout = watch_timeout
        self.reflector: Reflector | None = None
        self._key: tuple[str, str] | None = None
        self._lock = threading.Lock()

    def follow(self, kind: str, namespace: str | None, name: str, uid: str | None) -> None:
        namespace = namespace or CLUSTER_EVENTS_NAMESPACE
        selector = event_selector(kind, name, uid)
        with self._lock:
            if self._key == (namespace, selector):
                return
            self._retire()
            self._key = (namespace, selector)
            self.reflector = Reflector(self.connection.api_client, EVENT, namespace, self.store,
                                       self.on_change, threading.Event(), self.watch_timeout,
                                       field_selector=selector,
                                       path_usable=self.path.usable if self.path is not None else None)
            self.reflector.start()

    def _reconnect(self) -> None:
        reflector = self.reflector
        if reflector is not None:
            reflector.reconnect()

    def stop(self) -> None:
        with self._lock:
            self._retire()
            self._key = None

    def _retire(self) -> None:
        reflector, self.reflector = self.reflector, None
        if reflector is None:
            return
        reflector.stop()  # sets its stop event: the store ignores its writes from now on
        self.store.replace(EVENT.name, reflector.namespace, [])
        self.store.drop_state(EVENT.name, reflector.namespace)


class NamespaceEvents:
    """Every Event of one namespace in a store of its own, for a watch that follows objects which
    do not exist yet when it starts (the pods of a rollout): one field selector cannot name them."""

    def __init__(self, connection: Connection, namespace: str, on_change: Callable[[str], None],
                 watch_timeout: int = 45) -> None:
        self.store = Store()
        self.namespace = namespace
        self.reflector = Reflector(connection.api_client, EVENT, namespace, self.store, on_change,
                                   threading.Event(), watch_timeout)
        self.reflector.start()

    def events(self) -> list:
        return self.store.list(EVENT.name, self.namespace)

    def stop(self) -> None:
        self.reflector.stop()
