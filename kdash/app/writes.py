"""The app's side of the one write gate: read-only and protected contexts, the RBAC pre-check, refusals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kdash.actions.access import denied_actions
from kdash.actions.registry import ACTIONS, Action
from kdash.actions.safety import AuditLog, WriteContext, WriteGate
from kdash.errors import KdashError
from kdash.kube.client import Connection
from kdash.kube.namespaces import split as split_namespaces

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.app import App

    from kdash.config import Settings
    from kdash.kube.watcher import Watcher

    _App = App[None]  # mypy sees what the mixin uses of the app; at runtime it adds no base
else:
    _App = object


class WriteAccess(_App):
    """Mixed into KdashApp: whether a write may run now, and the context it is sent through."""

    if TYPE_CHECKING:
        settings: Settings
        connection: Connection | None
        watcher: Watcher | None
        audit: AuditLog
        denied: set[str]
        cli_readonly: bool
        pending_context: str | None
        namespace: str | None
        all_namespaces: bool

        @property
        def context_name(self) -> str: ...

        def _from_thread(self, callback: Callable[..., object], *args: object) -> bool: ...

    @property
    def readonly(self) -> bool:
        return self.cli_readonly or self.context_name in self.settings.readonly_contexts

    @property
    def protected(self) -> bool:
        return self.context_name in self.settings.protected_contexts

    def write_gate(self) -> WriteGate:
        """The one write gate, as the app's state stands now (docs/safety.md)."""
        return WriteGate(self.connection, self.context_name, self.readonly, self.audit, self._switch_refusal(),
                         frozenset(self.denied))

    def writable(self, action: Action) -> bool:
        """Every write key asks this first; a refusal is said on screen (and audited by the gate)."""
        try:
            self.write_gate().check(action.id, action.description)
        except KdashError as exc:
            self.notify(exc.message, title=exc.title, severity="error")
            return False
        return True

    def write_context(self, confirmed: Connection | None = None) -> WriteContext:
        """What a confirmed write is sent through: see WriteGate.context."""
        return self.write_gate().context(confirmed)

    def _switch_refusal(self) -> str:
        """Why no write may be sent now (a switch pending, a silent path), else ""."""
        if self.pending_context is not None:
            return f"switching to context {self.pending_context}"
        stale = self.watcher.stale() if self.watcher is not None else ""
        if stale:
            return (f"the API server has not answered for a while ({stale}); nothing was sent — "
                    "retry once the header says live")
        return ""

    def check_access(self) -> None:
        """Ask the API server which write actions this user may do here (SelfSubjectAccessReview)."""
        connection, namespace = self.connection, self.namespace
        if connection is None:
            return

        def run() -> None:
            # A subset "a,b": an action is greyed out unless allowed in each of its namespaces.
            denied = set().union(*(denied_actions(connection.api_client, ACTIONS, each) for each in
                                   split_namespaces(None if self.all_namespaces else namespace)))
            self._from_thread(self._set_denied, connection, denied)

        self.run_worker(run, thread=True, exclusive=True, group="access")

    def _set_denied(self, connection: Connection, denied: set[str]) -> None:
        if connection is not self.connection:
            return  # an answer about the previous cluster
        self.denied = denied
        self.refresh_bindings()
