"""Restart: confirm, then `kubectl rollout restart`."""

from __future__ import annotations

from kdash.actions import rollout as rollout_action
from kdash.screens.flows.host import FlowHost, Target


def start(host: FlowHost, target: Target) -> None:
    node = target.node
    host.confirm_write(f"Restart {target.what}?", "Rolls every pod, like `kubectl rollout restart`.",
                       lambda ctx: rollout_action.restart(ctx, node.namespace, node.name),
                       verb="Restart", track_uid=node.uid)
