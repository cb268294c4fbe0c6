"""A ConfigMap's consumers restarted in stages: one Deployment, watched to its verdict, then the next."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.text import Text

from kdash.actions import reload
from kdash.actions.safety import target_of
from kdash.core import objects
from kdash.core.rollout import revision_of
from kdash.core.stages import StagedRestart, data_spread, spread_text
from kdash.core.verdict import Verdict
from kdash.errors import KdashError
from kdash.logs.rollout_watch import Change, RolloutWatch
from kdash.render.tree import Node
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.flows import watch
from kdash.screens.rollout_watch import RolloutWatchScreen

if TYPE_CHECKING:
    from collections.abc import Callable

    from kdash.kube.client import Connection
    from kdash.screens.flows.host import FlowHost


def confirm(host: FlowHost, namespace: str, cm_name: str, names: list[str], title: str, detail: str,
            answered: Callable[[bool], object] | None = None) -> ConfirmScreen | None:
    """Ask once for the whole run; each restart is then its own write through the gate (read-only,
    a context switch or a lost path refuse it, with its audit line) and the run ends with one
    audit record of every stage."""
    run = Run(host, StagedRestart.of(namespace, cm_name, names))
    order = ", then ".join(names)
    detail += (f"\nIn stages: {order}. Each is watched to its verdict before the next starts; the first "
               "failure stops the run and the rest keep their pods.") if len(names) > 1 else \
        "\nThe restart is watched to its verdict."
    return host.confirm_write(title, detail, lambda _ctx: "", verb="Restart", answered=answered, run=run.begin)


@dataclass
class Run:
    host: FlowHost
    plan: StagedRestart
    confirmed: Connection | None = None
    screen: RolloutWatchScreen | None = None
    """The watch of the stage being judged (or the last one, once the run ended)."""
    replacing: RolloutWatchScreen | None = None
    sessions: list[tuple[str, RolloutWatch]] = field(default_factory=list)
    recorded: bool = False

    def begin(self, confirmed: Connection | None) -> None:
        self.confirmed = confirmed
        self._next()

    def _next(self) -> None:
        stage = self.plan.next_stage()
        if stage is None:
            self._finish_if_over()
            return
        stage.state = "restarting"
        name = stage.deployment
        self.host.run_worker(lambda: self._restart(name), thread=True, group="write")

    def _restart(self, name: str) -> None:
        """Worker: one consumer's restart, through the gate as confirmed."""
        app = self.host.app
        plan = self.plan
        try:
            digest, before = reload.restart_stage(app.write_context(self.confirmed), plan.namespace,
                                                  plan.configmap, name)
        except KdashError as exc:
            app.call_from_thread(self._failed, name, exc)
            return
        app.call_from_thread(self._restarted, name, digest, before)

    def _failed(self, name: str, exc: KdashError) -> None:
        self.plan.end(name, "failed", exc.message)
        self.host.app.notify(f"{name}: {exc.message}; {self.plan.stopped}, nothing further restarted",
                             title=exc.title, severity="error", timeout=12)
        self._finish_if_over()

    def _restarted(self, name: str, digest: str | None, before: dict[str, Any]) -> None:
        if digest is None:
            self.plan.end(name, "current", "already on this data, not restarted")
            self._next()
            return
        self.plan.stage(name).state = "watching"
        app = self.host.app
        uid = objects.uid(before)
        app.track_rollout(uid)
        index = [s.deployment for s in self.plan.stages].index(name) + 1
        stage = f"stage {index}/{len(self.plan.stages)}"
        change = Change(self.plan.namespace, name, uid, "restart",
                        f"for ConfigMap {self.plan.configmap} (data {digest[:12]}), {stage}",
                        int(objects.meta(before).get("generation") or 0), revision_of(before))
        node = Node(key=f"Deployment/{self.plan.namespace}/{name}", kind="Deployment",
                    namespace=self.plan.namespace, name=name, uid=uid, label=name, health="none")
        switch = self.screen is not None and app.screen is self.screen
        self.replacing = self.screen if switch else None
        self.screen = watch.open_watch(self.host, node, change, stages=self.stage_text, on_verdict=self._verdict,
                                       on_close=self._closed, switch=switch)
        self.sessions.append((name, self.screen.session))

    def _verdict(self, screen: RolloutWatchScreen, verdict: Verdict) -> None:
        if screen is not self.screen or len(screen.session.phases) > 1:
            return  # an undo's verdict: the stage was judged already
        name = screen.session.change.name
        # The criterion only: the watch's verdict line below has the evidence.
        if verdict.state == "healthy":
            self.plan.end(name, "healthy")
        else:
            self.plan.end(name, "failed", verdict.criterion or verdict.state)
        self._next()

    def _closed(self, screen: RolloutWatchScreen) -> None:
        if screen is self.replacing:
            self.replacing = None
            return
        if screen is not self.screen:
            return
        self.screen = None
        for stage in self.plan.stages:
            if stage.state in ("watching", "restarting"):
                stage.state, stage.note = "unjudged", "watch closed before the verdict"
        self.plan.stop("the watch was closed")
        self._finish_if_over()

    def _finish_if_over(self) -> None:
        """One audit record for the run, once every stage ended and its watch is closed."""
        if self.recorded or not self.plan.done or self.screen is not None:
            return
        self.recorded = True
        app, plan = self.host.app, self.plan
        record = {"context": app.context_name, **plan.record(),
                  "watches": [session.record(app.context_name, _end(session)) for _, session in self.sessions]}
        app.audit.record(context=app.context_name, verb="configmap-restart-staged",
                         target=target_of("ConfigMap", plan.namespace, plan.configmap), dry_run=False,
                         result="ok" if plan.outcome == "healthy" else "error",
                         detail=f"{plan.outcome}: " + "; ".join(plan.lines()), transaction=record)
        severity = "information" if plan.outcome == "healthy" else "error"
        app.notify(f"ConfigMap {plan.namespace}/{plan.configmap}: staged restart {plan.outcome}",
                   severity=severity, timeout=10)

    def stage_text(self) -> Text:
        """The stage view: each consumer's stage, then which of them still run old data."""
        text = Text("staged restart ", style="bold")
        text.append(f"of ConfigMap {self.plan.namespace}/{self.plan.configmap}"
                    f"{f' — stopped: {self.plan.stopped}' if self.plan.stopped else ''}")
        for line in self.plan.lines():
            style = "red" if ": failed" in line else "green" if ": healthy" in line else ""
            text.append(f"\n  {line}", style=style)
        text.append(f"\n  {self.blast_radius()}", style="dim")
        return text

    def blast_radius(self) -> str:
        store, plan = self.host.app.store, self.plan
        configmap = store.get("ConfigMap", plan.namespace, plan.configmap)
        if configmap is None:
            return f"ConfigMap {plan.namespace}/{plan.configmap} is gone"
        spreads = []
        for stage in plan.stages:
            deployment = store.get("Deployment", plan.namespace, stage.deployment)
            if deployment is None:
                continue
            pods = [p for rs in store.owned_by("ReplicaSet", objects.uid(deployment))
                    for p in store.owned_by("Pod", objects.uid(rs))]
            spreads.append(data_spread(configmap, stage.deployment, pods))
        return spread_text(spreads)


def _end(session: RolloutWatch) -> str:
    state = session.phases[-1].verdict.state
    return "closed before the verdict" if state == "pending" else f"ended {state}"
