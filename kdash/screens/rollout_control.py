"""Write actions on the dashboard: gate (read-only, RBAC), prompt, confirm, run in a worker, report."""

from __future__ import annotations

from typing import Callable

from rich.syntax import Syntax
from rich.text import Text
from textual import work

from kdash.actions import delete as delete_action
from kdash.actions import image as image_action
from kdash.actions import reload
from kdash.actions import rollout as rollout_action
from kdash.actions import scale as scale_action
from kdash.actions.registry import BY_ID
from kdash.actions.safety import WriteContext
from kdash.errors import KdashError
from kdash.render.rollout import history, previous_revision
from kdash.render.tree import Node
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.edit_apply import EditApply, notify_error
from kdash.screens.modals import PickScreen, PromptScreen

Write = Callable[[WriteContext], str]


class RolloutControl(EditApply):
    """Mixed into DashboardScreen: one method per write action of the registry (edit and apply in EditApply)."""

    # -- the common path ---------------------------------------------------------------------

    def _target(self, action_id: str) -> tuple[Node, dict] | None:
        """The selected object if the write action may run and applies to it; else say why, None."""
        if not self.app.writable(BY_ID[action_id]):
            return None
        node = self._selected(action_id)
        return (node, self.app.object_for(node)) if node is not None else None

    def _selected(self, action_id: str) -> Node | None:
        """The selected node if the action applies to it; otherwise say why and return None."""
        action = BY_ID[action_id]
        node = self.tree.selected
        if node is None or self.app.object_for(node) is None or (action.kinds and node.kind not in action.kinds):
            kinds = " or ".join(action.kinds) or "an object"
            self.app.notify(f"{action.description}: select a {kinds} first", severity="warning")
            return None
        return node

    def confirm_write(self, title: str, detail: str | Text | Syntax, write: Write, *, verb: str = "Apply",
                      track_uid: str | None = None) -> None:
        """Ask, then run `write(ctx)` in a thread worker; its one-line result or error is shown."""
        app = self.app

        def answered(yes: bool | None) -> None:
            if yes:
                self._run_write(write, track_uid)

        app.push_screen(ConfirmScreen(title, app.context_name, detail, protected=app.protected, verb=verb),
                        answered)

    @work(thread=True, group="write")
    def _run_write(self, write: Write, track_uid: str | None) -> None:
        app = self.app
        try:
            message = write(app.write_context())
        except KdashError as exc:
            notify_error(app, exc)
            return
        if track_uid:
            app.call_from_thread(app.track_rollout, track_uid)
        app.notify(message, title="Done", timeout=6)

    # -- scale ----------------------------------------------------------------------------------

    def action_scale(self) -> None:
        target = self._target("scale")
        if target is None:
            return
        node, deployment = target
        current = int((deployment.get("spec") or {}).get("replicas", 1))

        def entered(text: str | None) -> None:
            if text is None:
                return
            try:
                replicas = scale_action.parse_replicas(text)
            except KdashError as exc:
                self.app.notify(exc.message, title=exc.title, severity="error")
                return
            self._confirm_scale(node, deployment, current, replicas)

        self.app.push_screen(PromptScreen(f"Scale Deployment {node.namespace}/{node.name}", str(current),
                                          hint=f"replicas now: {current}; 0–10000"), entered)

    @work(thread=True, group="write-prep")
    def _confirm_scale(self, node: Node, deployment: dict, current: int, replicas: int) -> None:
        # Looking for an HPA is a request: do it off the UI thread, then ask on it.
        try:
            hpa = scale_action.hpa_for(self.app.connection.api_client, node.namespace, node.name)
        except KdashError:
            hpa = None
        detail = f"replicas {current} → {replicas}"
        if hpa:
            detail += f"\nwarning: HorizontalPodAutoscaler {hpa} targets this Deployment and may undo this"
        self.app.call_from_thread(
            self.confirm_write, f"Scale Deployment {node.namespace}/{node.name} to {replicas}?", detail,
            lambda ctx: scale_action.scale(ctx, node.namespace, node.name, replicas, expected_replicas=current),
            verb="Scale", track_uid=node.uid)

    # -- set image --------------------------------------------------------------------------

    def action_set_image(self) -> None:
        target = self._target("set_image")
        if target is None:
            return
        node, deployment = target
        refs = image_action.containers(deployment)
        if len(refs) == 1:
            self._prompt_image(node, deployment, refs[0])
            return
        choices = [(r.name, f"{'init ' if r.init else ''}{r.name}  {r.image}") for r in refs]

        def picked(name: str | None) -> None:
            ref = next((r for r in refs if r.name == name), None)
            if ref is not None:
                self._prompt_image(node, deployment, ref)

        self.app.push_screen(PickScreen("Container", choices), picked)

    def _prompt_image(self, node: Node, deployment: dict, ref: image_action.ContainerRef) -> None:
        def entered(text: str | None) -> None:
            if text is None:
                return
            try:
                image = image_action.parse_image(text)
            except KdashError as exc:
                self.app.notify(exc.message, title=exc.title, severity="error")
                return
            if image == ref.image:
                self.app.notify(f"{ref.name} already runs {image}", severity="warning")
                return
            self.confirm_write(
                f"Set image of {ref.name} in Deployment {node.namespace}/{node.name}?",
                f"{ref.image}\n→ {image}",
                lambda ctx: image_action.set_image(ctx, deployment, ref.name, image),
                verb="Set image", track_uid=node.uid)

        kind = "init container" if ref.init else "container"
        self.app.push_screen(PromptScreen(f"Image for {kind} {ref.name}", ref.image,
                                          hint=f"now: {ref.image}"), entered)

    # -- history / undo, restart ----------------------------------------------------------------

    def action_history(self) -> None:
        node = self._selected("history")
        if node is None:
            return
        from kdash.screens.history import HistoryScreen

        def chosen(revision: int | None) -> None:
            if revision is not None and self.app.writable(BY_ID["undo"]):
                self._confirm_undo(node, revision)

        self.app.push_screen(HistoryScreen(node.uid, readonly=self.app.readonly), chosen)

    def action_undo(self) -> None:
        target = self._target("undo")
        if target is None:
            return
        node, deployment = target
        revision = previous_revision(history(deployment, self.app.store.owned_by("ReplicaSet", node.uid)))
        if revision is None:
            self.app.notify(f"Undo: Deployment {node.namespace}/{node.name} has no previous revision",
                            severity="warning")
            return
        self._confirm_undo(node, revision)

    def _confirm_undo(self, node: Node, revision: int) -> None:
        self.confirm_write(
            f"Roll back Deployment {node.namespace}/{node.name} to revision {revision}?",
            "Copies that revision's pod template, like `kubectl rollout undo --to-revision`;\n"
            "works while a rollout is in progress (aborts it).",
            lambda ctx: rollout_action.undo(ctx, node.namespace, node.name, revision),
            verb="Undo", track_uid=node.uid)

    def action_restart(self) -> None:
        target = self._target("restart")
        if target is None:
            return
        node, _ = target
        self.confirm_write(f"Restart Deployment {node.namespace}/{node.name}?",
                           "Rolls every pod, like `kubectl rollout restart`.",
                           lambda ctx: rollout_action.restart(ctx, node.namespace, node.name),
                           verb="Restart", track_uid=node.uid)

    # -- delete pod ----------------------------------------------------------------------------

    def action_delete_pod(self) -> None:
        target = self._target("delete_pod")
        if target is None:
            return
        node, pod = target
        self.confirm_write(f"Delete Pod {node.namespace}/{node.name}?",
                           "Its ReplicaSet (if any) creates a replacement.",
                           lambda ctx: delete_action.delete_pod(ctx, node.namespace, node.name, uid=node.uid),
                           verb="Delete")

    # -- ConfigMap-triggered restarts -----------------------------------------------------------

    def action_restart_consumers(self) -> None:
        target = self._target("restart_consumers")
        if target is None:
            return
        _, configmap = target
        self.offer_configmap_restart(configmap, changed=False)

    def offer_configmap_restart(self, configmap: dict, *, changed: bool, skip: frozenset[str] = frozenset()) -> None:
        """Ask to restart the consumers that don't yet run this ConfigMap's data (watch mode and `R`).

        `skip` names consumers being restarted automatically right now.
        """
        app = self.app
        meta = configmap["metadata"]
        items = [i for i in reload.restart_plan(configmap, app.store.list("Deployment", meta["namespace"]))
                 if i.consumer.deployment not in skip]
        pending = [i for i in items if i.needed]
        name = f"ConfigMap {meta['namespace']}/{meta['name']}"
        if not pending:
            if not changed:
                used = ", ".join(i.consumer.deployment for i in items)
                app.notify(f"{name}: " + (f"{used} already run{'s' if len(items) == 1 else ''} this data"
                                          if items else "no Deployment uses it"), timeout=6)
            return
        users = ", ".join(i.consumer.deployment for i in pending)
        verb = "uses" if len(pending) == 1 else "use"
        title = f"{name} changed. {users} {verb} this ConfigMap — restart?" if changed else \
            f"Restart {users} for {name}?"
        detail = "\n".join(f"{i.consumer.deployment}: via {', '.join(i.consumer.how)}" for i in pending)
        done = [i.consumer.deployment for i in items if not i.needed]
        if done:
            detail += f"\nalready on this data, left alone: {', '.join(done)}"
        self.confirm_write(title, detail, lambda ctx: restart_consumers(ctx, configmap, pending),
                           verb="Restart", track_uid=None)
        for item in pending:
            app.track_rollout(item.deployment["metadata"]["uid"])

    @work(thread=True, group="write")
    def auto_restart(self, configmap: dict, items: list) -> None:
        """Opted-in consumers (Reloader or kdash annotations) restart without asking; each is audited."""
        app = self.app
        try:
            message = restart_consumers(app.write_context(), configmap, items)
        except KdashError as exc:
            app.notify(exc.message, title=exc.title, severity="error", timeout=12)
            return
        app.notify(message, title="Auto-restart", timeout=8)


def restart_consumers(ctx: WriteContext, configmap: dict, items: list) -> str:
    """Restart each item's Deployment; keep going past a failure and report all of them."""
    done, failed = [], []
    for item in items:
        try:
            reload.restart_for_configmap(ctx, configmap, item.consumer.deployment)
            done.append(item.consumer.deployment)
        except KdashError as exc:
            failed.append(f"{item.consumer.deployment}: {exc.message}")
    if failed:
        raise KdashError("Some restarts failed", "; ".join(failed) + (f" (restarted: {', '.join(done)})" if done else ""))
    return f"restarting {', '.join(done)} for ConfigMap {configmap['metadata']['name']}"

