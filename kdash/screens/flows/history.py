"""History: the rollout history view (also read-only); choosing a revision there undoes to it through undo's gate."""

from __future__ import annotations

from kdash.actions.registry import BY_ID
from kdash.core.rollout import Revision
from kdash.screens.flows import undo
from kdash.screens.flows.host import FlowHost, Target
from kdash.screens.history import HistoryScreen


def start(host: FlowHost, target: Target) -> None:
    node = target.node
    app = host.app

    def chosen(rev: Revision | None) -> None:
        if rev is not None and app.writable(BY_ID["undo"]):
            undo.confirm(host, node, rev)

    app.push_screen(HistoryScreen(node.uid, readonly=app.readonly, vet=lambda rev: undo.refusal(host, node, rev)),
                    chosen)
