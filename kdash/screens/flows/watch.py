"""The rollout watch from the dashboard: opened after a write that starts a rollout, undo from it by key or policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

from kdash.actions import rollout as rollout_action
from kdash.actions.registry import BY_ID
from kdash.actions.safety import target_of
from kdash.core.objects import Obj
from kdash.core.rollout import Revision, history, previous_of, revision_of
from kdash.core.verdict import Verdict, criteria_for
from kdash.errors import KdashError
from kdash.logs.rollout_watch import Change, RolloutWatch, namespace_events
from kdash.logs.stream import stream_factory
from kdash.render.tree import Node
from kdash.screens.flows import undo as undo_flow
from kdash.screens.rollout_watch import RolloutWatchScreen

if TYPE_CHECKING:
    from kdash.logs.rollout_watch import EventSource
    from kdash.screens.flows.host import FlowHost


def watch_after(host: FlowHost, node: Node, deployment: Obj, verb: str, detail: str) -> Callable[[str], None]:
    """What a confirmed write that starts a rollout runs once it succeeded: open its watch
    (a paused Deployment only stages the change: nothing to watch until it is resumed).
    Only Deployments: the watch follows a new ReplicaSet, which StatefulSets and DaemonSets have not."""
    if node.kind != "Deployment":
        return lambda _message: None
    change = Change(node.namespace, node.name, node.uid, verb, detail,
                    int((deployment.get("metadata") or {}).get("generation") or 0), revision_of(deployment))

    def done(_message: str) -> None:
        current = host.app.store.by_uid(node.uid) or deployment
        if (current.get("spec") or {}).get("paused"):
            host.app.notify(f"Deployment {node.namespace}/{node.name} is paused: the change is staged; "
                            "resume it to roll out", title="Staged", timeout=8)
            return
        open_watch(host, node, change)

    return done


def open_watch(host: FlowHost, node: Node, change: Change, *, stages: Callable[[], Text] | None = None,
               on_verdict: Callable[[RolloutWatchScreen, Verdict], None] | None = None,
               on_close: Callable[[RolloutWatchScreen], None] | None = None,
               switch: bool = False) -> RolloutWatchScreen:
    """Push the watch (or `switch` to it from the watch before: a staged run's next stage).
    `on_verdict` runs after the usual one; `on_close` replaces the watch's own audit record."""
    app = host.app
    criteria, warnings = criteria_for(app.settings.rollout_watch, app.context_name)
    for warning in warnings:
        app.notify(warning, title="Settings", severity="warning", timeout=10)
    connection = app.connection
    events: EventSource | None = namespace_events(connection, change.namespace) if connection else None
    factory = stream_factory(connection.api_client) if connection else None
    session = RolloutWatch(change, criteria, app.store, factory, events)
    def verdict(screen: RolloutWatchScreen, v: Verdict) -> None:
        _verdict(host, node, screen, v)
        if on_verdict is not None:
            on_verdict(screen, v)

    screen = RolloutWatchScreen(session, on_undo=lambda s: _undo_from_watch(host, node, s), on_verdict=verdict,
                                on_close=on_close or (lambda s: _record_transaction(host, s)), stages=stages)
    if switch:
        app.switch_screen(screen)
    else:
        app.push_screen(screen)
    return screen


def _undo_target(host: FlowHost, node: Node, screen: RolloutWatchScreen) -> Revision | None:
    """The revision that ran before the watched change (it keeps its number until the undo)."""
    deployment = host.app.object_for(node) or {}
    revisions = history(deployment, host.app.store.owned_by("ReplicaSet", node.uid))
    before = screen.session.phases[0].change.revision_before
    return next((r for r in revisions if r.revision == before and not r.is_current), None) or \
        previous_of(revisions)


def _undo_from_watch(host: FlowHost, node: Node, screen: RolloutWatchScreen) -> None:
    if len(screen.session.phases) > 1:
        host.app.notify("this watch already undid its change", severity="warning")
        return
    if not host.app.writable(BY_ID["undo"]):
        screen.undo_note = "undo refused (see the notification); nothing was sent"
        return
    rev = _undo_target(host, node, screen)
    if rev is None:
        host.app.notify(f"Deployment {node.namespace}/{node.name} has no earlier revision", severity="warning")
        return
    undo_flow.confirm(host, node, rev, done=_undo_done(host, node, screen, rev))


def _undo_done(host: FlowHost, node: Node, screen: RolloutWatchScreen, rev: Revision) -> Callable[[str], None]:
    deployment = host.app.object_for(node) or {}
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)

    def done(message: str) -> None:
        screen.undo_note = message
        screen.session.rearm(Change(node.namespace, node.name, node.uid, "undo",
                                    f"to revision {rev.revision} ({', '.join(rev.images)})", generation,
                                    revision_of(deployment)))

    return done


def _verdict(host: FlowHost, node: Node, screen: RolloutWatchScreen, verdict: Verdict) -> None:
    severity = {"healthy": "information", "failed": "error"}.get(verdict.state, "warning")
    host.app.notify(verdict.headline, title=f"Rollout {node.namespace}/{node.name}", severity=severity, timeout=10)
    session = screen.session
    if verdict.state == "failed" and len(session.phases) == 1 and session.criteria.auto_undo:
        rev = _undo_target(host, node, screen)
        if rev is None:
            screen.undo_note = "auto-undo: no earlier revision"
            return
        screen.undo_note = f"auto-undo to revision {rev.revision}…"
        done = _undo_done(host, node, screen, rev)
        host.run_worker(lambda: _auto_undo(host, node, screen, rev, done), thread=True, group="write")


def _auto_undo(host: FlowHost, node: Node, screen: RolloutWatchScreen, rev: Revision,
               done: Callable[[str], None]) -> None:
    """The context's policy undoes without asking (a thread worker); the write gate still refuses
    under read-only (with its audit line), and the undo has its own audit line like any other."""
    app = host.app
    try:
        message = rollout_action.undo(app.write_context(), node.namespace, node.name, rev.revision,
                                      replicaset_uid=rev.uid)
    except KdashError as exc:
        app.call_from_thread(setattr, screen, "undo_note", f"auto-undo: {exc.message}")
        return
    app.call_from_thread(done, f"auto-undo: {message}")


def _record_transaction(host: FlowHost, screen: RolloutWatchScreen) -> None:
    """One audit line with the whole story, when the watch closes (writes only: a watch alone
    changed nothing); "ok" only when the change itself ended healthy."""
    session = screen.session
    if all(p.change.verb == "watch" for p in session.phases):
        return
    verdicts = [p.verdict.state for p in session.phases]
    end = "closed before the verdict" if verdicts[-1] == "pending" else f"ended {verdicts[-1]}"
    if screen.undo_note and len(session.phases) == 1:
        end += f"; undo: {screen.undo_note}"
    change = session.change
    app = host.app
    app.audit.record(context=app.context_name, verb="rollout-watch",
                     target=target_of("Deployment", change.namespace, change.name), dry_run=False,
                     result="ok" if verdicts[0] == "healthy" else "error",
                     detail=" → ".join(f"{p.change.verb}: {p.verdict.headline}" for p in session.phases),
                     transaction=session.record(app.context_name, end))
