"""Undo of a StatefulSet or DaemonSet: back to a ControllerRevision's template, like `kubectl rollout undo`."""

from __future__ import annotations

from kdash.actions import controllers
from kdash.core import revisions as core_revisions
from kdash.core.objects import Obj
from kdash.core.rollout import Revision, container_images, previous_of
from kdash.errors import KdashError
from kdash.render.format import age
from kdash.render.tree import Node
from kdash.screens.flows.host import FlowHost, Target

KINDS = ("StatefulSet", "DaemonSet")


def _revisions(host: FlowHost, node: Node) -> list[Obj]:
    return host.app.store.owned_by("ControllerRevision", node.uid)


def _history(host: FlowHost, node: Node, workload: Obj) -> list[Revision]:
    return core_revisions.history(workload, _revisions(host, node), host.app.store.owned_by("Pod", node.uid))


def start(host: FlowHost, target: Target) -> None:
    rev = previous_of(_history(host, target.node, target.obj))
    if rev is None:
        host.app.notify(f"Undo: {target.what} has no previous revision", severity="warning")
        return
    confirm(host, target.node, rev)


def refusal(host: FlowHost, node: Node, rev: Revision) -> str | None:
    """Why undoing to `rev` would be refused, checked on what the store shows (before asking)."""
    workload = host.app.object_for(node)
    if workload is None:
        return f"{node.kind} {node.namespace}/{node.name} is gone"
    try:
        core_revisions.undo_plan(workload, _revisions(host, node), rev.revision, rev.uid)
    except core_revisions.RevisionError as exc:
        return exc.message
    return None


def confirm(host: FlowHost, node: Node, rev: Revision) -> None:
    """A server dry run first (its answer is shown), then ask, then undo to exactly `rev`."""
    refused = refusal(host, node, rev)
    if refused:
        host.app.notify(refused, title="Cannot undo", severity="error", timeout=10)
        return
    host.prepare(lambda: _confirm(host, node, rev))


def _confirm(host: FlowHost, node: Node, rev: Revision) -> None:
    """Worker: the dry run is a request; then the confirmation on the UI thread."""
    app = host.app
    connection = app.connection
    try:
        preview = controllers.undo(app.write_context(connection), node.kind, node.namespace, node.name,
                                   rev.revision, rev.uid, dry_run=True)
    except KdashError as exc:
        app.call_from_thread(app.notify, exc.message, title=exc.title or "Cannot undo", severity="error",
                             timeout=10)
        return
    workload = app.object_for(node) or {}
    rows = _history(host, node, workload)
    current = next((r for r in rows if r.is_current), None)
    images = _full_images(host, node, rev)
    detail = f"revision {rev.revision}: {images}   age {age(rev.created, app.now())}   ControllerRevision {rev.name}"
    if current is not None:
        detail += f"\nnow on revision {current.revision}: {_full_images(host, node, current)}"
    detail += (f"\n{preview}\nRestores that revision's pod template, like `kubectl rollout undo --to-revision`; "
               "refused if the revision is gone or renumbered by the time it is sent.")
    app.call_from_thread(
        host.confirm_write, f"Roll back {node.kind} {node.namespace}/{node.name} to revision {rev.revision} "
                            f"({images})?", detail,
        lambda ctx: controllers.undo(ctx, node.kind, node.namespace, node.name, rev.revision, rev.uid),
        verb="Undo", track_uid=node.uid, prepared_on=connection)


def _full_images(host: FlowHost, node: Node, rev: Revision) -> str:
    """The revision's images as its template names them (the history table shortens them)."""
    revision = next((r for r in _revisions(host, node) if r.get("metadata", {}).get("uid") == rev.uid), None)
    spec = core_revisions.revision_template(revision or {}).get("spec") or {}
    return ", ".join(container_images(spec, short=False) or rev.images)
