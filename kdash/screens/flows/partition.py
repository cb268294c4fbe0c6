"""Partition: prompt for a StatefulSet's rolling-update partition (one lower by default), dry run, confirm."""

from __future__ import annotations

from kdash.actions import controllers
from kdash.core import statefulsets as core_sts
from kdash.core.objects import Obj
from kdash.errors import KdashError
from kdash.screens.flows.host import FlowHost, Target
from kdash.screens.modals import PromptScreen


def start(host: FlowHost, target: Target) -> None:
    sts = target.obj
    current = core_sts.partition(sts)
    replicas = core_sts.replicas(sts)
    hint = f"now {current}, {replicas} replicas; ordinals ≥ it update; lower it step by step"
    host.ask(PromptScreen(f"Partition of {target.what}", str(core_sts.next_partition(sts)), hint=hint),
             lambda text: controllers.parse_partition(text, sts),
             lambda value: host.prepare(lambda: _confirm(host, target, current, value)))


def _confirm(host: FlowHost, target: Target, current: int, value: int) -> None:
    """Worker: a server dry run (refusals show now, nothing changes), then ask on the UI thread."""
    app = host.app
    node = target.node
    connection = app.connection
    try:
        preview = controllers.set_partition(app.write_context(connection), node.namespace, node.name, value,
                                            expected_partition=current, dry_run=True)
    except KdashError as exc:
        app.call_from_thread(app.notify, exc.message, title=exc.title or "Cannot set the partition",
                             severity="error", timeout=10)
        return
    detail = f"partition {current} → {value}\n{_moves(target.obj, app.store.owned_by('Pod', node.uid), value)}\n" \
             f"{preview}"
    app.call_from_thread(
        host.confirm_write, f"Set the partition of {target.what} to {value}?", detail,
        lambda ctx: controllers.set_partition(ctx, node.namespace, node.name, value, expected_partition=current),
        verb="Set partition", track_uid=node.uid, prepared_on=connection)


def _moves(sts: Obj, pods: list[Obj], value: int) -> str:
    """Which pods the new partition sends to the update revision (or holds back)."""
    status = core_sts.statefulset_status(sts)
    if not status.update_revision or status.update_revision == status.current_revision:
        return "no update is pending: the partition only holds back the next change"
    moving = [f"{sts['metadata']['name']}-{n}" for n, pod in core_sts.owned_pods(sts, pods)
              if n >= value and core_sts.pod_revision(status, pod) != "update"]
    return f"pods to update: {', '.join(moving)}" if moving else "no pod moves: the ordinals at or above it " \
                                                                "are already updated"
