"""Undo: roll back to the previous revision (or one picked in the history), never twice onto one revision."""

from __future__ import annotations

import time

from kdash.actions import rollout as rollout_action
from kdash.actions.safety import WriteContext
from kdash.core.objects import meta
from kdash.core.rollout import Revision, container_images, history, history_settled, previous_of
from kdash.errors import KdashError
from kdash.render.format import age
from kdash.render.tree import Node
from kdash.screens.flows.host import FlowHost, Target

# After this long an undo that never showed up renumbered (controller down?) no longer blocks
# another: the write itself still refuses a target that was renumbered or deleted.
UNDO_SETTLE_SECONDS = 30.0


def _undos(host: FlowHost) -> dict[str, tuple[int, float]]:
    """Deployment uid -> (its generation when an undo was confirmed, monotonic time then)."""
    return host.flow_state(__name__, dict)


def start(host: FlowHost, target: Target) -> None:
    node = target.node
    # Checked before computing the target: the store may still show the revisions from
    # before an undo that is landing, and "previous" would be one that undo consumed.
    landing = _landing(host, node)
    if landing:
        host.app.notify(landing, title="Cannot undo", severity="warning")
        return
    rev = previous_of(history(target.obj, host.app.store.owned_by("ReplicaSet", node.uid)))
    if rev is None:
        host.app.notify(f"Undo: {target.what} has no previous revision", severity="warning")
        return
    confirm(host, node, rev)


def _landing(host: FlowHost, node: Node) -> str | None:
    """Why not to undo yet: an earlier undo of this Deployment is sent or not yet renumbered."""
    undos = _undos(host)
    started = undos.get(node.uid)
    if started is None:
        return None
    generation, since = started
    deployment = host.app.store.by_uid(node.uid)
    replicasets = host.app.store.owned_by("ReplicaSet", node.uid)
    if deployment is None or time.monotonic() - since > UNDO_SETTLE_SECONDS or \
            history_settled(deployment, replicasets, generation):
        undos.pop(node.uid, None)
        return None
    return (f"An undo of {node.kind} {node.namespace}/{node.name} is still being applied; "
            "its revisions are renumbered in a moment — try again then")


def refusal(host: FlowHost, node: Node, rev: Revision) -> str | None:
    """Why undoing to `rev` would be refused, checked on what the store shows (before asking)."""
    landing = _landing(host, node)
    if landing:
        return landing
    deployment = host.app.object_for(node)
    if deployment is None:
        return f"{node.kind} {node.namespace}/{node.name} is gone"
    try:
        rollout_action.undo_patch(deployment, host.app.store.owned_by("ReplicaSet", node.uid), rev.revision, rev.uid)
    except KdashError as exc:
        return exc.message
    return None


def confirm(host: FlowHost, node: Node, rev: Revision) -> None:
    """Ask to roll back to `rev` (refused before asking if it cannot succeed), then undo to exactly it."""
    refused = refusal(host, node, rev)
    if refused:
        host.app.notify(refused, title="Cannot undo", severity="error", timeout=10)
        return
    app = host.app
    deployment = app.object_for(node) or {}
    replicasets = app.store.owned_by("ReplicaSet", node.uid)
    current = next((r for r in history(deployment, replicasets) if r.is_current), None)
    images = _full_images(replicasets, rev)
    detail = f"revision {rev.revision}: {images}   age {age(rev.created, app.now())}   ReplicaSet {rev.name}"
    if current is not None:
        detail += f"\nnow on revision {current.revision}: {_full_images(replicasets, current)}"
    detail += ("\nCopies that revision's pod template, like `kubectl rollout undo --to-revision`;\n"
               "works while a rollout is in progress (aborts it). Refused if that revision is gone "
               "or renumbered by the time it is sent.")
    generation = int(meta(deployment).get("generation") or 0)
    undos = _undos(host)

    def started() -> None:
        undos[node.uid] = (generation, time.monotonic())

    def write(ctx: WriteContext) -> str:
        try:
            return rollout_action.undo(ctx, node.namespace, node.name, rev.revision, replicaset_uid=rev.uid)
        except KdashError:
            undos.pop(node.uid, None)
            raise

    host.confirm_write(
        f"Roll back {node.kind} {node.namespace}/{node.name} to revision {rev.revision} ({images})?",
        detail, write, verb="Undo", track_uid=node.uid, started=started)


def _full_images(replicasets: list, rev: Revision) -> str:
    """The revision's images as the pod template names them (the history table shortens them)."""
    rs = next((r for r in replicasets if meta(r).get("uid") == rev.uid), None)
    spec = (((rs or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    return ", ".join(container_images(spec, short=False) or rev.images)
