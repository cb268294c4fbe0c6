"""Scale: prompt for replicas, warn about an HPA that would undo it, confirm, scale subresource."""

from __future__ import annotations

from kdash.actions import scale as scale_action
from kdash.errors import KdashError
from kdash.screens.flows.host import FlowHost, Target
from kdash.screens.modals import PromptScreen


def start(host: FlowHost, target: Target) -> None:
    current = int((target.obj.get("spec") or {}).get("replicas", 1))
    host.ask(PromptScreen(f"Scale {target.what}", str(current), hint=f"replicas now: {current}; 0–10000"),
             scale_action.parse_replicas,
             lambda replicas: host.prepare(lambda: _confirm(host, target, current, replicas)))


def _confirm(host: FlowHost, target: Target, current: int, replicas: int) -> None:
    """Worker: looking for an HPA is a request, done off the UI thread; then ask on it."""
    node = target.node
    connection = host.app.connection
    try:
        if connection is None:
            raise KdashError("Not connected", "no cluster connection")
        hpa = scale_action.hpa_for(connection.api_client, node.namespace, node.name)
    except KdashError:
        hpa = None
    detail = f"replicas {current} → {replicas}"
    if hpa:
        detail += f"\nwarning: HorizontalPodAutoscaler {hpa} targets this {node.kind} and may undo this"
    host.app.call_from_thread(
        host.confirm_write, f"Scale {target.what} to {replicas}?", detail,
        lambda ctx: scale_action.scale(ctx, node.namespace, node.name, replicas, expected_replicas=current),
        verb="Scale", track_uid=node.uid, prepared_on=connection)
