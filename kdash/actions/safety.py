"""The one write gate: read-only, a pending switch, the connection and RBAC, then one audit line per attempt."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kdash.actions.audit import AUDIT_FILE, AuditLog, Result
from kdash.actions.http import JSON, request_json
from kdash.errors import KdashError, describe_api_error
from kdash.kube.api import ApiClient

if TYPE_CHECKING:
    from kdash.kube.client import Connection

__all__ = ["AUDIT_FILE", "FIELD_MANAGER", "Attempt", "AuditLog", "ReadOnlyError", "Result", "WriteContext",
           "WriteGate", "target_of"]

FIELD_MANAGER = "kdash"


class ReadOnlyError(KdashError):
    """A write was attempted on a context kdash treats as read-only."""

    def __init__(self, context_name: str, verb: str, target: str) -> None:
        super().__init__("Read-only", f"{verb} {target} refused: context {context_name!r} is read-only")


@dataclass
class Attempt:
    """One audited write in progress; the only way to send a write request."""

    ctx: WriteContext
    verb: str
    target: str
    dry_run: bool = False
    detail: str = ""
    """What the audit line says on success (e.g. "replicas 2 → 3"); set by the action."""

    def send(self, method: str, path: str, body: Any = None, *,
             query: Sequence[tuple[str, Any]] = (), content_type: str = JSON) -> dict[str, Any]:
        """Send a write request; adds fieldManager and, for a dry run, dryRun=All."""
        params = list(query)
        if method in ("PATCH", "PUT", "POST"):
            params.append(("fieldManager", FIELD_MANAGER))
        if self.dry_run:
            params.append(("dryRun", "All"))
        return request_json(self.ctx.api_client, method, path, body, params, content_type)


@dataclass
class WriteContext:
    """Everything a write needs besides its arguments: the client, where it goes, and the gate."""

    api_client: ApiClient
    context_name: str
    readonly: bool = False
    audit: AuditLog = field(default_factory=AuditLog.default)
    refusal: str = ""
    """Why nothing may be sent through this context right now (e.g. a context switch is pending)."""

    @classmethod
    def for_connection(cls, connection: Any, readonly: bool = False,
                       audit: AuditLog | None = None) -> WriteContext:
        """From a kdash.kube.client.Connection."""
        return cls(connection.api_client, connection.context_name, readonly,
                   audit or AuditLog.default())

    def describe(self) -> str:
        """For confirmation dialogs: where the change will land."""
        suffix = " (read-only)" if self.readonly else ""
        return f"context {self.context_name}{suffix}"

    def refuse_if_readonly(self, verb: str, target: str, *, dry_run: bool = False) -> None:
        """In a read-only context, or one with a `refusal`: audit the refusal and raise (ReadOnlyError
        for read-only); else nothing."""
        _refuse(self.audit, self.context_name, self.readonly, self.refusal, verb, target, dry_run)

    @contextmanager
    def attempt(self, verb: str, target: str, *, dry_run: bool = False) -> Iterator[Attempt]:
        """Guard one write: refuse when read-only (before any request), audit the outcome.

        Anything raised inside comes out as a KdashError (API and transport errors are
        translated), and exactly one audit line is written whatever happens.
        """
        def record(result: Result, detail: str) -> None:
            self.audit.record(context=self.context_name, verb=verb, target=target,
                              dry_run=dry_run, result=result, detail=detail)

        self.refuse_if_readonly(verb, target, dry_run=dry_run)
        self.audit.check_writable()
        attempt = Attempt(self, verb, target, dry_run)
        try:
            yield attempt
        except Exception as exc:
            error = describe_api_error(exc)
            record("error", error.message)
            if error is exc:
                raise
            raise error from exc
        except BaseException as exc:  # KeyboardInterrupt, worker shutdown: audit, don't translate
            record("error", type(exc).__name__)
            raise
        record("ok", attempt.detail)


def _refuse(audit: AuditLog, context_name: str, readonly: bool, refusal: str, verb: str, target: str,
            dry_run: bool = False) -> None:
    """Audit and raise when read-only (ReadOnlyError) or when `refusal` says why not; else nothing."""
    if readonly:
        audit.record(context=context_name, verb=verb, target=target, dry_run=dry_run, result="refused",
                     detail="read-only context")
        raise ReadOnlyError(context_name, verb, target)
    if refusal:
        audit.record(context=context_name, verb=verb, target=target, dry_run=dry_run, result="refused",
                     detail=refusal)
        raise KdashError("Not sent", f"{verb} {target} refused: {refusal}")


@dataclass(frozen=True)
class WriteGate:
    """The one gate every write passes, built by the app from its state at the moment of asking.

    `check` runs when a write key is pressed (before any confirmation): read-only and a `refusal`
    (a context switch pending, a silent path to the API server) refuse with an audit line, then a
    missing connection and the RBAC pre-check refuse. `context` is what the confirmed write is sent
    through: the connection in use, which refuses (audited, before any request) for the same
    `refusal`, or when `confirmed` — the connection the confirmation named — is no longer the one
    in use.
    """

    connection: Connection | None
    context_name: str
    readonly: bool
    audit: AuditLog
    refusal: str = ""
    """Why no write may be sent now, else "" (the app's: a switch pending, a silent path)."""
    denied: frozenset[str] = frozenset()

    def check(self, action_id: str, description: str, denial_key: str | None = None) -> None:
        """Raise KdashError when the action may not start here (`denial_key`: what the RBAC
        pre-check denies it under for the selected kind, see Action.denial_key)."""
        if self.readonly or (self.connection is not None and self.refusal):
            _refuse(self.audit, self.context_name, self.readonly, self.refusal, action_id,
                    f"context/{self.context_name}")
        if self.connection is None:
            raise KdashError("", "Not connected to a cluster")
        if (denial_key or action_id) in self.denied:
            raise KdashError("", f"RBAC: you may not {description.lower()} here")

    def context(self, confirmed: Connection | None = None) -> WriteContext:
        connection = self.connection
        if connection is None:
            raise KdashError("Not connected", "no cluster connection")
        refusal = self.refusal
        if not refusal and confirmed is not None and confirmed is not connection:
            refusal = (f"confirmed on context {confirmed.context_name}, but the context is now "
                       f"{connection.context_name}")
        return WriteContext(connection.api_client, connection.context_name, self.readonly, self.audit,
                            refusal=refusal)


def target_of(kind: str, namespace: str | None, name: str) -> str:
    """The audit log's object column: "Kind/ns/name", or "Kind/name" when cluster-scoped."""
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
