"""Watch: the selected Deployment's current rollout, judged like a watched write (nothing is sent)."""

from __future__ import annotations

from kdash.core.rollout import revision_of
from kdash.logs.rollout_watch import Change
from kdash.screens.flows import watch
from kdash.screens.flows.host import FlowHost, Target


def start(host: FlowHost, target: Target) -> None:
    node = target.node
    generation = int((target.obj.get("metadata") or {}).get("generation") or 1)
    # The generation before the current one: the controller must have observed the current spec.
    watch.open_watch(host, node, Change(node.namespace, node.name, node.uid, "watch", "the current rollout",
                                        generation - 1, revision_of(target.obj)))
