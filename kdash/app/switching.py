"""Namespace and context switching: pickers, and a switch that changes nothing until the new context answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kdash.errors import KdashError
from kdash.kube.kubeconfig import list_contexts
from kdash.kube.namespaces import split as split_namespaces
from kdash.screens.modals import PickScreen

if TYPE_CHECKING:
    from textual.app import App

    from kdash.kube.client import Connection
    from kdash.kube.store import Store
    from kdash.kube.watcher import Watcher
    from kdash.screens.dashboard import DashboardScreen

    _App = App[None]  # mypy sees what the mixin uses of the app; at runtime it adds no base
else:
    _App = object

ALL_NAMESPACES_LABEL = "all namespaces"


class Switching(_App):
    """Mixed into KdashApp: `n` and `c`, and switching the watched namespace(s) or the context."""

    if TYPE_CHECKING:
        store: Store
        connection: Connection | None
        watcher: Watcher | None
        namespace: str | None
        all_namespaces: bool
        kubeconfig: str | None
        pending_context: str | None
        _namespace_seen: bool
        _connect_generation: int

        @property
        def dashboard(self) -> DashboardScreen: ...

        @property
        def context_name(self) -> str: ...

        def _loading_store(self) -> None: ...

        def _view_kinds(self) -> frozenset[str]: ...

        def check_access(self) -> None: ...

        def _show_header(self) -> None: ...

        def connect_and_watch(self, context: str | None) -> None: ...

    def pick_namespace(self) -> None:
        names = sorted(ns["metadata"]["name"] for ns in self.store.list("Namespace"))
        watched = [] if self.all_namespaces or not self.namespace else split_namespaces(self.namespace)
        names = [n for n in watched if n not in names] + names
        choices = [("*", f"({ALL_NAMESPACES_LABEL})")] + [(n, n) for n in names]
        current = "*" if self.all_namespaces else (watched[0] if watched else None)
        # space marks several: a subset "a,b", one watch each
        self.push_screen(PickScreen("Namespace (space marks several)", choices, current, multi=True,
                                    unmarkable=("*",)),
                         lambda value: self._picked_namespace(value))

    def _picked_namespace(self, value: str | None) -> None:
        if value:
            self.switch_namespace(None if value == "*" else value)

    def switch_namespace(self, namespace: str | None) -> None:
        if namespace is None and self.all_namespaces:
            return
        if namespace is not None and namespace == self.namespace and not self.all_namespaces:
            return
        self.all_namespaces = namespace is None
        self.namespace = namespace if namespace is not None else self.namespace
        self._namespace_seen = False
        if self.watcher is None:
            return
        watcher = self.watcher
        self._loading_store()
        # The old namespace's objects leave the store now and the screen follows at once, so the
        # new header never shows the old tree; joining the old threads (up to ~1 s) is left to a worker.
        watcher.first = self._view_kinds()  # the view on screen now is listed first
        old = watcher.begin_switch(namespace)
        self.run_worker(lambda: watcher.retire(old), thread=True, group="switch")
        self.dashboard.refresh_all()
        self.check_access()

    def pick_context(self) -> None:
        try:
            contexts = list_contexts(self.kubeconfig)
        except KdashError as exc:
            self.notify(exc.message, title=exc.title, severity="error")
            return
        self.push_screen(PickScreen("Context", [(c, c) for c in contexts], self.context_name),
                         self._switch_context)

    def _switch_context(self, context: str | None) -> None:
        """Nothing changes until the new context answers; a failed switch leaves all as it was."""
        if not context or context == self.pending_context:
            return
        if self.connection is not None and context == self.connection.context_name:
            if self.pending_context is not None:
                # Back to the current context: abandon the switch in progress.
                self._connect_generation += 1
                self.pending_context = None
                self._show_header()
            return
        self.connect_and_watch(context)
