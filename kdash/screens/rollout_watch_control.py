"""Dashboard side of the rollout cockpit: open a watch after a write, undo from it (by key or policy), pause/resume."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work

from kdash.actions import pause as pause_action
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
from kdash.screens.rollout_control import RolloutControl
from kdash.screens.rollout_watch import RolloutWatchScreen

if TYPE_CHECKING:
    from kdash.logs.rollout_watch import EventSource


class RolloutWatchControl(RolloutControl):
    """Mixed into DashboardScreen before the other write mixins (it extends their writes)."""

    def watch_after(self, node: Node, deployment: Obj, verb: str, detail: str) -> Callable[[str], None]:
        """What a confirmed write that starts a rollout runs once it succeeded: open its watch
        (a paused Deployment only stages the change: nothing to watch until it is resumed)."""
        change = Change(node.namespace, node.name, node.uid, verb, detail,
                        int((deployment.get("metadata") or {}).get("generation") or 0), revision_of(deployment))

        def done(_message: str) -> None:
            current = self.app.store.by_uid(node.uid) or deployment
            if (current.get("spec") or {}).get("paused"):
                self.app.notify(f"Deployment {node.namespace}/{node.name} is paused: the change is staged; "
                                "resume it to roll out", title="Staged", timeout=8)
                return
            self.open_watch(node, change)

        return done

    def action_watch_rollout(self) -> None:
        node = self._selected("watch_rollout")
        deployment = self.app.object_for(node) if node is not None else None
        if node is None or deployment is None:
            return
        generation = int((deployment.get("metadata") or {}).get("generation") or 1)
        self.open_watch(node, Change(node.namespace, node.name, node.uid, "watch", "the current rollout",
                                     generation - 1, revision_of(deployment)))

    def open_watch(self, node: Node, change: Change) -> RolloutWatchScreen:
        app = self.app
        criteria, warnings = criteria_for(app.settings.rollout_watch, app.context_name)
        for warning in warnings:
            app.notify(warning, title="Settings", severity="warning", timeout=10)
        connection = app.connection
        events: EventSource | None = namespace_events(connection, change.namespace) if connection else None
        factory = stream_factory(connection.api_client) if connection else None
        session = RolloutWatch(change, criteria, app.store, factory, events)
        screen = RolloutWatchScreen(session, on_undo=lambda s: self._undo_from_watch(node, s),
                                    on_verdict=lambda s, v: self._verdict(node, s, v),
                                    on_close=self._record_transaction)
        app.push_screen(screen)
        return screen

    # -- verdict, undo ------------------------------------------------------------------------

    def _undo_target(self, node: Node, screen: RolloutWatchScreen) -> Revision | None:
        """The revision that ran before the watched change (it keeps its number until the undo)."""
        deployment = self.app.object_for(node) or {}
        revisions = history(deployment, self.app.store.owned_by("ReplicaSet", node.uid))
        before = screen.session.phases[0].change.revision_before
        return next((r for r in revisions if r.revision == before and not r.is_current), None) or \
            previous_of(revisions)

    def _undo_from_watch(self, node: Node, screen: RolloutWatchScreen) -> None:
        if len(screen.session.phases) > 1:
            self.app.notify("this watch already undid its change", severity="warning")
            return
        if not self.app.writable(BY_ID["watch_undo"]):
            screen.undo_note = "undo refused (see the notification); nothing was sent"
            return
        rev = self._undo_target(node, screen)
        if rev is None:
            self.app.notify(f"Deployment {node.namespace}/{node.name} has no earlier revision", severity="warning")
            return
        self._confirm_undo(node, rev, done=self._undo_done(node, screen, rev))

    def _undo_done(self, node: Node, screen: RolloutWatchScreen, rev: Revision) -> Callable[[str], None]:
        deployment = self.app.object_for(node) or {}
        generation = int((deployment.get("metadata") or {}).get("generation") or 0)

        def done(message: str) -> None:
            screen.undo_note = message
            screen.session.rearm(Change(node.namespace, node.name, node.uid, "undo",
                                        f"to revision {rev.revision} ({', '.join(rev.images)})", generation,
                                        revision_of(deployment)))

        return done

    def _verdict(self, node: Node, screen: RolloutWatchScreen, verdict: Verdict) -> None:
        severity = {"healthy": "information", "failed": "error"}.get(verdict.state, "warning")
        self.app.notify(verdict.headline, title=f"Rollout {node.namespace}/{node.name}", severity=severity,
                        timeout=10)
        session = screen.session
        if verdict.state == "failed" and len(session.phases) == 1 and session.criteria.auto_undo:
            rev = self._undo_target(node, screen)
            if rev is None:
                screen.undo_note = "auto-undo: no earlier revision"
                return
            screen.undo_note = f"auto-undo to revision {rev.revision}…"
            self._auto_undo(node, screen, rev, self._undo_done(node, screen, rev))

    @work(thread=True, group="write")
    def _auto_undo(self, node: Node, screen: RolloutWatchScreen, rev: Revision, done: Callable[[str], None]) -> None:
        """The context's policy undoes without asking; the write gate still refuses under read-only
        (with its audit line), and the undo has its own audit line like any other."""
        app = self.app
        try:
            message = rollout_action.undo(app.write_context(), node.namespace, node.name, rev.revision,
                                          replicaset_uid=rev.uid)
        except KdashError as exc:
            app.call_from_thread(setattr, screen, "undo_note", f"auto-undo: {exc.message}")
            return
        app.call_from_thread(done, f"auto-undo: {message}")

    def _record_transaction(self, screen: RolloutWatchScreen) -> None:
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
        self.app.audit.record(context=self.app.context_name, verb="rollout-watch",
                              target=target_of("Deployment", change.namespace, change.name), dry_run=False,
                              result="ok" if verdicts[0] == "healthy" else "error",
                              detail=" → ".join(f"{p.change.verb}: {p.verdict.headline}" for p in session.phases),
                              transaction=session.record(self.app.context_name, end))

    # -- pause / resume --------------------------------------------------------------------------

    def action_pause(self) -> None:
        self._pause_or_resume("pause", pause_action.pause,
                              "Later changes (set image, apply) are staged, not rolled out, until resumed.")

    def action_resume(self) -> None:
        self._pause_or_resume("resume", pause_action.resume, "Rolls out whatever was staged while paused.")

    def _pause_or_resume(self, action_id: str, write: Callable, detail: str) -> None:
        target = self._target(action_id)
        if target is None:
            return
        node, deployment = target
        paused = bool((deployment.get("spec") or {}).get("paused"))
        if paused == (action_id == "pause"):
            self.app.notify(f"Deployment {node.namespace}/{node.name} is {'already' if paused else 'not'} paused",
                            severity="warning")
            return
        done = self.watch_after(node, deployment, "resume", "staged changes") if action_id == "resume" else None
        self.confirm_write(f"{action_id.capitalize()} rollout of Deployment {node.namespace}/{node.name}?", detail,
                           lambda ctx: write(ctx, node.namespace, node.name), verb=action_id.capitalize(),
                           track_uid=node.uid, done=done)
