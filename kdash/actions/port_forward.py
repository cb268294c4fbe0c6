"""Port-forwards as audited writes: refused under read-only, a start line and a stop line per forward."""

from __future__ import annotations

import builtins
import threading
from collections.abc import Mapping
from typing import Any

from kdash.actions.access import may_use
from kdash.actions.safety import WriteContext, target_of
from kdash.errors import KdashError
from kdash.kube.api import ApiClient
from kdash.kube.portforward import ForwardStatus, PortForward, check_port, suggest_local_port

__all__ = ["ForwardStatus", "Forwards", "parse_port", "remote_ports", "suggest_local_port"]

VERB = "port-forward"
# Like exec: a WebSocket forward is a GET (`get pods/portforward` before 1.30), newer servers also want `create`.
RBAC_VERBS = ("create", "get")


def allowed(api_client: ApiClient, namespace: str) -> bool:
    """Whether RBAC lets this user forward to pods of `namespace` (a failing review allows)."""
    return may_use(api_client, "pods/portforward", namespace, RBAC_VERBS)


def parse_port(text: str, what: str = "local port") -> int:
    """A typed port number 1-65535, or KdashError saying what is wrong."""
    try:
        port = int(text.strip())
    except ValueError:
        raise KdashError("Invalid port", f"{what} {text.strip()!r} is not a number") from None
    return check_port(port, what)


def remote_ports(obj: Mapping[str, Any]) -> list[tuple[int, str]]:
    """The TCP ports a Pod's containers or a Service declare: (port, label for a picker)."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    found: list[tuple[int, str]] = []
    if kind == "Service":
        for p in spec.get("ports") or []:
            if (p.get("protocol") or "TCP") == "TCP" and isinstance(p.get("port"), int):
                found.append((p["port"], f"{p['port']}  {p.get('name') or ''} → {p.get('targetPort', p['port'])}"))
        return found
    for container in spec.get("containers") or []:
        for p in container.get("ports") or []:
            if (p.get("protocol") or "TCP") == "TCP" and isinstance(p.get("containerPort"), int):
                found.append((p["containerPort"], f"{p['containerPort']}  {p.get('name') or ''} "
                                                  f"(container {container.get('name', '')})"))
    return found


class Forwards:
    """Every forward of one kdash session: start, list, stop one or all (on quit).

    Each forward keeps the write context it was started through, so its stop line names the
    context it ran on even after a context switch.
    """

    def __init__(self, ctx: WriteContext | None = None) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._forwards: dict[str, tuple[PortForward, WriteContext]] = {}  # by local address

    def start(self, namespace: str, kind: str, name: str, remote_port: int, local_port: int | None = None,
              address: str = "127.0.0.1", ctx: WriteContext | None = None) -> PortForward:
        """Bind and start a forward (audited); KdashError for a read-only context, a taken port, a bad target."""
        ctx = ctx or self.ctx
        if ctx is None:
            raise KdashError("Not connected", "no cluster connection")
        target = target_of(kind, namespace, name)
        with ctx.attempt(VERB, target) as attempt:
            forward = PortForward(ctx.api_client, namespace, kind, name, remote_port, local_port, address)
            attempt.detail = f"start {forward.local} -> port {remote_port}"
            # The server only checks on each forwarded connection: refuse now rather than listen in vain.
            if not allowed(ctx.api_client, namespace):
                raise KdashError("Forbidden", f"RBAC does not allow port-forwarding to pods in namespace "
                                              f"{namespace} (create and get on pods/portforward)")
            forward.start()
            status = forward.status()
            attempt.detail += f" ({status.state}: {status.reason})"
        with self._lock:
            self._forwards[forward.local] = (forward, ctx)
        return forward

    def list(self) -> list[ForwardStatus]:
        with self._lock:
            forwards = [forward for forward, _ in self._forwards.values()]
        return [f.status() for f in forwards]

    def stop(self, local: str) -> ForwardStatus | None:
        """Stop the forward listening on `local` ("127.0.0.1:8080"); one audit line."""
        with self._lock:
            entry = self._forwards.pop(local, None)
        if entry is None:
            return None
        forward, ctx = entry
        status = forward.stop()
        ctx.audit.record(context=ctx.context_name, verb=VERB,
                              target=target_of(forward.kind, forward.namespace, forward.name),
                              dry_run=False, result="ok",
                              detail=f"stop {status.local}: {status.connections} connections, "
                                     f"{status.bytes_in} bytes in, {status.bytes_out} bytes out")
        return status

    def stop_all(self) -> builtins.list[ForwardStatus]:
        with self._lock:
            locals_ = list(self._forwards)
        return [s for s in (self.stop(local) for local in locals_) if s is not None]
