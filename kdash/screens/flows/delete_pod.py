"""Delete pod: confirm, then delete with a UID precondition."""

from __future__ import annotations

from kdash.actions import delete as delete_action
from kdash.screens.flows.host import FlowHost, Target


def start(host: FlowHost, target: Target) -> None:
    node = target.node
    host.confirm_write(f"Delete {target.what}?", "Its ReplicaSet (if any) creates a replacement.",
                       lambda ctx: delete_action.delete_pod(ctx, node.namespace, node.name, uid=node.uid),
                       verb="Delete")
