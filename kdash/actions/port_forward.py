"""Port-forwards as audited writes: refused under read-only, a start line and a stop line per forward."""

from __future__ import annotations

import builtins
import threading

from kubernetes.client import ApiClient

from kdash.actions.access import may_use
from kdash.actions.safety import WriteContext, target_of
from kdash.errors import KdashError
from kdash.kube.portforward import ForwardStatus, PortForward

VERB = "port-forward"
# Like exec: a WebSocket forward is a GET (`get pods/portforward` before 1.30), newer servers also want `create`.
RBAC_VERBS = ("create", "get")


def allowed(api_client: ApiClient, namespace: str) -> bool:
    """Whether RBAC lets this user forward to pods of `namespace` (a failing review allows)."""
    return may_use(api_client, "pods/portforward", namespace, RBAC_VERBS)


class Forwards:
    """Every forward of one kdash session: start, list, stop one or all (on quit)."""

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._forwards: dict[str, PortForward] = {}  # by local address

    def start(self, namespace: str, kind: str, name: str, remote_port: int, local_port: int | None = None,
              address: str = "127.0.0.1") -> PortForward:
        """Bind and start a forward (audited); KdashError for a read-only context, a taken port, a bad target."""
        target = target_of(kind, namespace, name)
        with self.ctx.attempt(VERB, target) as attempt:
            forward = PortForward(self.ctx.api_client, namespace, kind, name, remote_port, local_port, address)
            attempt.detail = f"start {forward.local} -> port {remote_port}"
            # The server only checks on each forwarded connection: refuse now rather than listen in vain.
            if not allowed(self.ctx.api_client, namespace):
                raise KdashError("Forbidden", f"RBAC does not allow port-forwarding to pods in namespace "
                                              f"{namespace} (create and get on pods/portforward)")
            forward.start()
            status = forward.status()
            attempt.detail += f" ({status.state}: {status.reason})"
        with self._lock:
            self._forwards[forward.local] = forward
        return forward

    def list(self) -> list[ForwardStatus]:
        with self._lock:
            forwards = list(self._forwards.values())
        return [f.status() for f in forwards]

    def stop(self, local: str) -> ForwardStatus | None:
        """Stop the forward listening on `local` ("127.0.0.1:8080"); one audit line."""
        with self._lock:
            forward = self._forwards.pop(local, None)
        if forward is None:
            return None
        status = forward.stop()
        self.ctx.audit.record(context=self.ctx.context_name, verb=VERB,
                              target=target_of(forward.kind, forward.namespace, forward.name),
                              dry_run=False, result="ok",
                              detail=f"stop {status.local}: {status.connections} connections, "
                                     f"{status.bytes_in} bytes in, {status.bytes_out} bytes out")
        return status

    def stop_all(self) -> builtins.list[ForwardStatus]:
        with self._lock:
            locals_ = list(self._forwards)
        return [s for s in (self.stop(local) for local in locals_) if s is not None]
