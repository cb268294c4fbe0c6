"""Early start: connect and start the watch before the UI is imported; the app adopts the running watch."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kdash.heap import HeapFreezer
from kdash.kube.client import Connection, connect
from kdash.kube.store import Store
from kdash.kube.watcher import Watcher

Connector = Callable[[str | None, str | None], Connection]
# The dashboard opens on the workload tree: its kinds are listed ahead of the others.
FIRST_VIEW_KINDS = ("Deployment", "ReplicaSet", "Pod", "HorizontalPodAutoscaler")


def watch_namespace(requested: str | None, all_namespaces: bool, context_namespace: str) -> str | None:
    """The namespace rule of the first connection: all namespaces (None) with -A, else the
    requested namespace(s), else the context's own."""
    return None if all_namespaces else (requested or context_namespace)


@dataclass(frozen=True)
class Watching:
    """What a running watch serves: the kubeconfig and context it connected with, the context's
    default namespace, and the namespace(s) it watches (None: all)."""

    kubeconfig: str | None
    context: str
    context_namespace: str
    namespace: str | None

    def serves(self, kubeconfig: str | None, context: str | None, namespace: str | None,
               all_namespaces: bool) -> bool:
        """Whether an app given these options would start exactly this watch on its first connection."""
        return (kubeconfig == self.kubeconfig and context in (None, self.context)
                and watch_namespace(namespace, all_namespaces, self.context_namespace) == self.namespace)


class Relay:
    """The watch's change callback until the app exists: marks are dropped until `attach`, and the
    adopting app marks every kind itself (what changed before it could listen is in the store)."""

    def __init__(self) -> None:
        self._target: Callable[[str], None] | None = None

    def __call__(self, kind: str) -> None:
        target = self._target  # one read: reflector threads call this while the UI attaches
        if target is not None:
            target(kind)

    def attach(self, target: Callable[[str], None]) -> None:
        self._target = target


@dataclass
class EarlyStart:
    """A connection and its started Watcher, made before the UI; KdashApp adopts or abandons it."""

    connection: Connection
    watching: Watching
    watcher: Watcher
    relay: Relay
    heap: HeapFreezer
    connected_at: float  # time.monotonic() when the connection answered
    watching_at: float  # ... and when the reflectors were started

    @property
    def store(self) -> Store:
        return self.watcher.store

    @property
    def version(self) -> str:
        return self.connection.version

    def abandon(self) -> None:
        """Not adopted: collections back on at once; the reflectors stop (up to a second) and the
        connection closes on a thread of their own."""
        self.heap.uninstall()

        def stop() -> None:
            self.watcher.stop()
            self.connection.close()

        threading.Thread(target=stop, name="kdash-early-stop", daemon=True).start()


def start_watching(args: argparse.Namespace, connector: Connector = connect,
                   watcher_class: type[Watcher] = Watcher) -> EarlyStart:
    """Connect as the app would on its first connection and start its Watcher now, so the lists
    run while Textual and the screens import. Raises KdashError (before any UI) when the
    kubeconfig, the context or the server is unusable. (Tests pass their own connector and
    Watcher subclass.)"""
    kubeconfig = getattr(args, "kubeconfig", None)
    connection = connector(kubeconfig, getattr(args, "context", None))
    connected_at = time.monotonic()
    if not connection.version:
        try:
            connection.version = connection.server_version()
        except BaseException:
            connection.close()
            raise
    watching = Watching(kubeconfig, connection.context_name, connection.namespace,
                        watch_namespace(getattr(args, "namespace", None), getattr(args, "all_namespaces", False),
                                        connection.namespace))
    heap = HeapFreezer()
    # Before the reflector threads exist (malloc arenas), and no collections while the store loads
    # (kdash/heap.py); the adopting app's first flush ends that, as its own loads do.
    heap.install()
    heap.loading(collect_first=True)  # the imports' garbage goes at the end of the load
    relay = Relay()
    watcher = watcher_class(connection, watching.namespace, store=Store(), on_change=relay, first=FIRST_VIEW_KINDS)
    watcher.start()
    return EarlyStart(connection, watching, watcher, relay, heap, connected_at, time.monotonic())
