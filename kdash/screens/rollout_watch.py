"""The rollout watch: progress, events and the new pods' logs of one change, until healthy or failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from kdash.actions.registry import ACTIONS
from kdash.core import objects
from kdash.core.rollout import rollout_status
from kdash.core.values import parse_time
from kdash.core.verdict import Verdict, event_time
from kdash.logs.buffer import RingBuffer
from kdash.logs.rollout_watch import LOG_CAPACITY, RolloutWatch
from kdash.widgets.footer import Footer
from kdash.widgets.log_view import LogView

TICK_SECONDS = 0.1  # judge and drain the log lines ten times a second
MAX_EVENTS = 5
DEFAULT_DEADLINE = 600  # spec.progressDeadlineSeconds' API default
VERDICT_STYLE = {"pending": "bold yellow", "healthy": "bold green", "failed": "bold red"}


def watch_bindings() -> list[BindingType]:
    return [Binding(a.keys, a.id, a.description, show=a.footer, id=a.id, tooltip=a.help)
            for a in ACTIONS if a.group == "watch"]


class RolloutWatchScreen(Screen[None]):
    """One change followed to its verdict; `on_undo` asks for the undo (through the write gate),
    `on_verdict` runs once per phase when the verdict lands, `on_close` when the screen goes."""

    BINDINGS = watch_bindings()
    DEFAULT_CSS = """
    RolloutWatchScreen { layout: vertical; }
    RolloutWatchScreen #watch-title { height: 1; background: $panel; padding: 0 1; }
    RolloutWatchScreen #watch-stages { height: auto; max-height: 8; padding: 0 1; background: $surface; }
    RolloutWatchScreen #watch-verdict { height: auto; max-height: 6; padding: 0 1; }
    RolloutWatchScreen #watch-progress { height: auto; max-height: 3; padding: 0 1; background: $surface; }
    RolloutWatchScreen #watch-events { height: auto; max-height: 6; padding: 0 1; }
    RolloutWatchScreen LogView { height: 1fr; border-top: solid $panel; }
    """

    def __init__(self, session: RolloutWatch, *, on_undo: Callable[[RolloutWatchScreen], None] | None = None,
                 on_verdict: Callable[[RolloutWatchScreen, Verdict], None] | None = None,
                 on_close: Callable[[RolloutWatchScreen], None] | None = None,
                 clock: Callable[[], float] | None = None, stages: Callable[[], Text] | None = None) -> None:
        super().__init__()
        self._stages = stages
        """A staged run's view (which consumers are done, which still run old data), above the verdict."""
        self.session = session
        self._on_undo, self._on_verdict, self._on_close = on_undo, on_verdict, on_close
        self._clock = clock or session.clock
        self._judged = 0  # phases whose verdict was handed to on_verdict
        self._shown: dict[str, str] = {}
        self.undo_note = ""
        """What happened to an undo asked from here (refused, sent, …), shown under the verdict."""

    def compose(self) -> ComposeResult:
        self.buffer = RingBuffer(LOG_CAPACITY)
        yield Static(id="watch-title")
        yield Static(id="watch-stages")
        yield Static(id="watch-verdict")
        yield Static(id="watch-progress")
        yield Static(id="watch-events")
        yield LogView(self.buffer, id="watch-logs")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#watch-stages").display = self._stages is not None
        self.query_one(LogView).configure(prefix=True)
        self.set_interval(TICK_SECONDS, self.tick)
        self.tick()

    def on_unmount(self) -> None:
        self.session.stop()
        if self._on_close is not None:
            self._on_close(self)

    def tick(self) -> None:
        session = self.session
        verdict = session.tick()
        lines, dropped = session.queue.drain()
        view = self.query_one(LogView)
        if dropped:
            self.buffer.add_dropped(dropped)
        if lines:
            view.lines_added(self.buffer.extend(lines))
        self._show("watch-title", self.title_text())
        if self._stages is not None:
            self._show("watch-stages", self._stages())
        self._show("watch-verdict", self.verdict_text())
        self._show("watch-progress", self.progress_text())
        self._show("watch-events", self.events_text())
        if verdict.done and self._judged < len(session.phases):
            self._judged = len(session.phases)
            if self._on_verdict is not None:
                self._on_verdict(self, verdict)

    def _show(self, widget_id: str, text: Text) -> None:
        if self._shown.get(widget_id) != text.markup:
            self._shown[widget_id] = text.markup
            self.query_one(f"#{widget_id}", Static).update(text)

    # -- what the lines say (also read by tests) ---------------------------------------------------

    def title_text(self) -> Text:
        change = self.session.phase.change
        text = Text.assemble(("rollout watch ", "bold"), (f"deployment/{change.name}", "bold"),
                             f" · ns {change.namespace} · {change.verb}: {change.detail}")
        if self.session.phase.new_rs:
            text.append(f" · logs of replicaset/{self.session.phase.new_rs}", style="dim")
        return text

    def verdict_text(self) -> Text:
        session, verdict = self.session, self.session.verdict
        text = Text(verdict.headline, style=VERDICT_STYLE[verdict.state])
        if verdict.state == "pending":
            left = session.criteria.ready_within - session.elapsed
            text.append(f"  (verdict in ≤ {max(0, left):.0f}s)", style="dim")
        phase = session.phase
        if verdict.state == "failed" and len(session.phases) == 1 and not self.undo_note:
            undo = next((a for a in ACTIONS if a.id == "watch_undo"), None)
            key = undo.keys.split(",")[0] if undo else "u"
            text.append(f"\n  {key}: undo to revision {phase.change.revision_before} (preview first)",
                        style="bold")
        if self.undo_note:
            text.append(f"\n  {self.undo_note}", style="bold")
        if phase.signal_at is not None and phase.verdict_at is not None:
            text.append(f"\n  verdict {phase.verdict_at - phase.signal_at:.2f}s after the first failing signal",
                        style="dim")
        for line in verdict.evidence[1:4] if verdict.state == "failed" else ():
            text.append(f"\n  {line}")
        return text

    def progress_text(self) -> Text:
        session = self.session
        deployment = session.deployment()
        if deployment is None:
            return Text(f"Deployment {session.change.namespace}/{session.change.name} is gone", style="bold red")
        status = rollout_status(deployment, session.store.owned_by("ReplicaSet", session.change.uid))
        new = f"new {status.new_rs or '(not yet)'} ↑ {status.new_rs_ready}/{status.desired} ready"
        text = Text(f"{new} · old ↓ {status.old_rs_replicas} · revision {status.revision}"
                    f"{' · PAUSED' if status.paused else ''}{self._deadline(deployment)}")
        conditions = " · ".join(f"{c.type}={c.status} {c.reason}".rstrip() for c in status.conditions)
        if conditions:
            text.append(f"\n{conditions}", style="dim")
        return text

    def _deadline(self, deployment: dict) -> str:
        """The controller's own progress deadline, counted from the last progress it saw."""
        seconds = (deployment.get("spec") or {}).get("progressDeadlineSeconds") or DEFAULT_DEADLINE
        progressing = next((c for c in (deployment.get("status") or {}).get("conditions") or ()
                            if c.get("type") == "Progressing"), None)
        since = parse_time((progressing or {}).get("lastUpdateTime"))
        if since is None or self.session.verdict.done:
            return ""
        left = seconds - (self._clock() - since.timestamp())
        return f" · progress deadline in {max(0, left):.0f}s"

    def events_text(self) -> Text:
        session = self.session
        deployment = session.deployment()
        if deployment is None:
            return Text("")
        new_rs = session.store.get("ReplicaSet", session.change.namespace, session.phase.new_rs) \
            if session.phase.new_rs else None
        pods = session.store.owned_by("Pod", objects.uid(new_rs)) if new_rs is not None else []
        events = session.related_events(deployment, new_rs, pods)
        if session.events is None:
            return Text("events: not watched (not connected)", style="dim")
        if not events:
            return Text("events: none yet about the Deployment, its new ReplicaSet or new pods", style="dim")
        text = Text()
        now = datetime.fromtimestamp(self._clock(), UTC)
        for event in events[:MAX_EVENTS]:
            warning = event.get("type") == "Warning"
            involved = event.get("involvedObject") or {}
            when = parse_time(event_time(event))
            ago = f"{max(0, (now - when).total_seconds()):.0f}s ago" if when else ""
            text.append(f"{'Warning' if warning else 'Normal '} ", style="bold red" if warning else "dim")
            text.append(f"{event.get('reason', '')} {str(involved.get('kind', '')).lower()}/"
                        f"{involved.get('name', '')}: {event.get('message', '')} ({ago})\n")
        if len(events) > MAX_EVENTS:
            text.append(f"+{len(events) - MAX_EVENTS} more", style="dim")
        text.rstrip()
        return text

    # -- keys -------------------------------------------------------------------------------------

    def action_watch_undo(self) -> None:
        if self._on_undo is None:
            self.app.notify("undo is not available here", severity="warning")
            return
        self._on_undo(self)

    def action_watch_close(self) -> None:
        self.dismiss(None)

    def on_key(self, event) -> None:
        """Scrolling keys go to the log view even when it does not have the focus."""
        if event.key in ("up", "down", "pageup", "pagedown", "home", "end"):
            self.query_one(LogView).focus()
