"""Restart: confirm, then `kubectl rollout restart`."""

from __future__ import annotations

from kdash.actions import rollout as rollout_action
from kdash.core.kinds import KINDS_BY_NAME
from kdash.screens.flows import watch
from kdash.screens.flows.host import FlowHost, Target


def start(host: FlowHost, target: Target) -> None:
    node = target.node
    host.confirm_write(f"Restart {target.what}?", "Rolls every pod, like `kubectl rollout restart`.",
                       lambda ctx: rollout_action.restart(ctx, node.namespace, node.name,
                                                          kind=KINDS_BY_NAME[node.kind]),
                       verb="Restart", track_uid=node.uid,
                       done=watch.watch_after(host, node, target.obj, "restart", "every pod"))
