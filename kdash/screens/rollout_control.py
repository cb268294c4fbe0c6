"""Write actions on the dashboard: gate (read-only, RBAC), prompt, confirm, run in a worker, report."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from rich.syntax import Syntax
from rich.text import Text
from textual import events, work
from textual.timer import Timer

from kdash.actions import delete as delete_action
from kdash.actions import image as image_action
from kdash.actions import reload
from kdash.actions import rollout as rollout_action
from kdash.actions import scale as scale_action
from kdash.actions.registry import BY_ID
from kdash.actions.safety import WriteContext
from kdash.core.configmaps import restart_plan, wants_auto_restart
from kdash.core.objects import Obj
from kdash.core.rollout import Revision, container_images, history, history_settled, previous_of
from kdash.errors import KdashError
from kdash.render.format import age
from kdash.render.tree import Node
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.edit_apply import EditApply, notify_error
from kdash.screens.modals import PickScreen, PromptScreen

if TYPE_CHECKING:
    from kdash.kube.client import Connection  # a type only: screens reach the cluster through the app
    from kdash.widgets.resource_tree import ResourceTree

Write = Callable[[WriteContext], str]
# After this long an undo that never showed up renumbered (controller down?) no longer blocks
# another: the write itself still refuses a target that was renumbered or deleted.
UNDO_SETTLE_SECONDS = 30.0
# Opted-in consumers restart once their ConfigMap has been quiet this long: edits made in a
# burst (an editor saving twice, a script patching key by key) roll them once.
AUTO_RESTART_SETTLE_SECONDS = 2.0
# A write not answered by then says, on the status line, that it is waiting for the server.
WAITING_NOTE_AFTER = 0.5


T = TypeVar("T")


class RolloutControl(EditApply):
    """Mixed into DashboardScreen: one method per write action of the registry (edit and apply in EditApply)."""

    if TYPE_CHECKING:
        @property
        def tree(self) -> ResourceTree: ...  # type: ignore[override]  # the dashboard's (see there)

        _message: str  # the dashboard's status line, and how it is set

        def say(self, message: str) -> None: ...

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Deployment uid -> (its generation when an undo was confirmed, monotonic time then).
        self._undos: dict[str, tuple[int, float]] = {}
        # (namespace, ConfigMap) -> [its open restart offer, how many changes it stands for].
        self._configmap_offers: dict[tuple[str, str], list] = {}
        # (namespace, ConfigMap) -> the pending auto-restart (restarted when the data settles).
        self._auto_restart_timers: dict[tuple[str, str], Timer] = {}

    # -- the common path ---------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """A write key the RBAC pre-check dimmed still answers why: Textual drops a disabled
        binding's key without a word, which reads as a broken key."""
        app = self.app
        for action_id in app.denied:
            action = BY_ID.get(action_id)
            if action is None:
                continue
            keys = app.settings.keymap.get(action_id, action.keys)
            if event.key in (k.strip() for k in keys.split(",")):
                event.stop()
                app.notify(f"{app.keys_for(action)}: RBAC: you may not {action.description.lower()} here",
                           title=action.description, severity="error")
                return

    def _target(self, action_id: str) -> tuple[Node, Obj] | None:
        """The selected object if the write action applies to it and may run; else say why, None.

        What the key applies to is said first: a key pressed on the wrong kind of object is not
        a refused write (nothing to audit), and "read-only" alone would not tell what it does.
        """
        node = self._selected(action_id)
        if node is None or not self.app.writable(BY_ID[action_id]):
            return None
        obj = self.app.object_for(node)
        return None if obj is None else (node, obj)

    def _selected(self, action_id: str) -> Node | None:
        """The selected node if the action applies to it; otherwise say why and return None."""
        action = BY_ID[action_id]
        node = self.tree.selected
        if node is None or self.app.object_for(node) is None or (action.kinds and node.kind not in action.kinds):
            kinds = " or ".join(action.kinds) or "an object"
            key = self.app.keys_for(action)
            selection = f"{node.kind} {node.namespace}/{node.name} is selected" if node is not None and node.name \
                else "nothing is selected"
            self.app.notify(f"{key}: {action.help} — works on a {kinds}; {selection}",
                            title=action.description, severity="warning")
            return None
        return node

    def confirm_write(self, title: str, detail: str | Text | Syntax, write: Write, *, verb: str = "Apply",
                      track_uid: str | None = None, started: Callable[[], None] | None = None,
                      answered: Callable[[bool], None] | None = None,
                      prepared_on: object | None = None,
                      run: Callable[[Connection | None], None] | None = None) -> ConfirmScreen | None:
        """Ask, then run `write(ctx)` in a thread worker; its one-line result or error is shown.

        `started` runs on the UI thread once the user said yes, before the worker; `answered`
        with the answer, either way. Returns the confirmation screen. `prepared_on`: the
        connection a worker read from to prepare this (a dry run, an HPA lookup); if the context
        changed since, nothing is asked (None is returned) and nothing is sent. `run`, given, is
        called on the UI thread with the confirmed connection instead of the worker (an interactive
        shell needs the terminal).
        """
        app = self.app
        if not self._same_connection(prepared_on):
            return None
        confirmed = app.connection  # the write goes to the context the dialog names, or nowhere

        def on_answer(yes: bool | None) -> None:
            if answered is not None:
                answered(bool(yes))
            if yes:
                if started is not None:
                    started()
                if run is not None:
                    run(confirmed)
                else:
                    self._run_write(write, track_uid, confirmed)

        screen = ConfirmScreen(title, app.context_name, detail, protected=app.protected, verb=verb)
        app.push_screen(screen, on_answer)
        return screen

    def _same_connection(self, prepared_on: object | None) -> bool:
        app = self.app
        if prepared_on is None or prepared_on is app.connection:
            return True
        app.notify(f"the context changed to {app.context_name} while this was prepared on "
                   f"{getattr(prepared_on, 'context_name', '?')}; nothing was sent",
                   title="Context changed", severity="error", timeout=12)
        return False

    @work(thread=True, group="write")
    def _run_write(self, write: Write, track_uid: str | None, confirmed: Connection | None) -> None:
        app = self.app
        done = threading.Event()
        note = "sent; waiting for the API server…"

        def say_waiting() -> None:
            if not done.is_set():
                self.say(note)

        def clear_waiting() -> None:
            if self._message == note:
                self.say("")

        app._from_thread(self.set_timer, WAITING_NOTE_AFTER, say_waiting)
        try:
            message = write(app.write_context(confirmed))
        except KdashError as exc:
            notify_error(app, exc)
            return
        finally:
            done.set()
            app._from_thread(clear_waiting)
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
        self._ask(PromptScreen(f"Scale Deployment {node.namespace}/{node.name}", str(current),
                               hint=f"replicas now: {current}; 0–10000"),
                  scale_action.parse_replicas,
                  lambda replicas: self._confirm_scale(node, deployment, current, replicas))

    def _ask(self, prompt: PromptScreen, parse: Callable[[str], T], then: Callable[[T], object]) -> None:
        """Prompt, parse the answer (a parse error is said, nothing else happens), then go on with it."""
        def entered(text: str | None) -> None:
            if text is None:
                return
            try:
                value = parse(text)
            except KdashError as exc:
                self.app.notify(exc.message, title=exc.title, severity="error")
                return
            then(value)

        self.app.push_screen(prompt, entered)

    @work(thread=True, group="write-prep")
    def _confirm_scale(self, node: Node, deployment: dict, current: int, replicas: int) -> None:
        # Looking for an HPA is a request: do it off the UI thread, then ask on it.
        connection = self.app.connection
        try:
            if connection is None:
                raise KdashError("Not connected", "no cluster connection")
            hpa = scale_action.hpa_for(connection.api_client, node.namespace, node.name, node.kind)
        except KdashError:
            hpa = None
        detail = f"replicas {current} → {replicas}"
        if hpa:
            detail += f"\nwarning: HorizontalPodAutoscaler {hpa} targets this Deployment and may undo this"
        self.app.call_from_thread(
            self.confirm_write, f"Scale Deployment {node.namespace}/{node.name} to {replicas}?", detail,
            lambda ctx: scale_action.scale(ctx, node.namespace, node.name, replicas, expected_replicas=current),
            verb="Scale", track_uid=node.uid, prepared_on=connection)

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

    def _prompt_image(self, node: Node, deployment: Obj, ref: image_action.ContainerRef) -> None:
        def entered(image: str) -> None:
            if image == ref.image:
                self.app.notify(f"{ref.name} already runs {image}", severity="warning")
                return
            self.confirm_write(
                f"Set image of {ref.name} in Deployment {node.namespace}/{node.name}?",
                f"{ref.image}\n→ {image}",
                lambda ctx: image_action.set_image(ctx, deployment, ref.name, image),
                verb="Set image", track_uid=node.uid)

        kind = "init container" if ref.init else "container"
        self._ask(PromptScreen(f"Image for {kind} {ref.name}", ref.image, hint=f"now: {ref.image}"),
                  image_action.parse_image, entered)

    # -- history / undo, restart ----------------------------------------------------------------

    def action_history(self) -> None:
        node = self._selected("history")
        if node is None:
            return
        from kdash.screens.history import HistoryScreen

        def chosen(rev: Revision | None) -> None:
            if rev is not None and self.app.writable(BY_ID["undo"]):
                self._confirm_undo(node, rev)

        self.app.push_screen(HistoryScreen(node.uid, readonly=self.app.readonly,
                                           vet=lambda rev: self._undo_refusal(node, rev)), chosen)

    def action_undo(self) -> None:
        target = self._target("undo")
        if target is None:
            return
        node, deployment = target
        # Checked before computing the target: the store may still show the revisions from
        # before an undo that is landing, and "previous" would be one that undo consumed.
        landing = self._undo_landing(node)
        if landing:
            self.app.notify(landing, title="Cannot undo", severity="warning")
            return
        rev = previous_of(history(deployment, self.app.store.owned_by("ReplicaSet", node.uid)))
        if rev is None:
            self.app.notify(f"Undo: Deployment {node.namespace}/{node.name} has no previous revision",
                            severity="warning")
            return
        self._confirm_undo(node, rev)

    def _undo_landing(self, node: Node) -> str | None:
        """Why not to undo yet: an earlier undo of this Deployment is sent or not yet renumbered."""
        started = self._undos.get(node.uid)
        if started is None:
            return None
        generation, since = started
        deployment = self.app.store.by_uid(node.uid)
        replicasets = self.app.store.owned_by("ReplicaSet", node.uid)
        if deployment is None or time.monotonic() - since > UNDO_SETTLE_SECONDS or \
                history_settled(deployment, replicasets, generation):
            self._undos.pop(node.uid, None)
            return None
        return (f"An undo of Deployment {node.namespace}/{node.name} is still being applied; "
                "its revisions are renumbered in a moment — try again then")

    def _undo_refusal(self, node: Node, rev: Revision) -> str | None:
        """Why undoing to `rev` would be refused, checked on what the store shows (before asking)."""
        landing = self._undo_landing(node)
        if landing:
            return landing
        deployment = self.app.object_for(node)
        if deployment is None:
            return f"Deployment {node.namespace}/{node.name} is gone"
        try:
            rollout_action.undo_patch(deployment, self.app.store.owned_by("ReplicaSet", node.uid),
                                      rev.revision, rev.uid)
        except KdashError as exc:
            return exc.message
        return None

    def _confirm_undo(self, node: Node, rev: Revision) -> None:
        refusal = self._undo_refusal(node, rev)
        if refusal:
            self.app.notify(refusal, title="Cannot undo", severity="error", timeout=10)
            return
        deployment = self.app.object_for(node) or {}
        replicasets = self.app.store.owned_by("ReplicaSet", node.uid)
        current = next((r for r in history(deployment, replicasets) if r.is_current), None)
        images = _full_images(replicasets, rev)
        detail = f"revision {rev.revision}: {images}   age {age(rev.created, self.app.now())}   " \
                 f"ReplicaSet {rev.name}"
        if current is not None:
            detail += f"\nnow on revision {current.revision}: {_full_images(replicasets, current)}"
        detail += ("\nCopies that revision's pod template, like `kubectl rollout undo --to-revision`;\n"
                   "works while a rollout is in progress (aborts it). Refused if that revision is gone "
                   "or renumbered by the time it is sent.")
        generation = int((deployment.get("metadata") or {}).get("generation") or 0)

        def started() -> None:
            self._undos[node.uid] = (generation, time.monotonic())

        def write(ctx: WriteContext) -> str:
            try:
                return rollout_action.undo(ctx, node.namespace, node.name, rev.revision, replicaset_uid=rev.uid)
            except KdashError:
                self._undos.pop(node.uid, None)
                raise

        self.confirm_write(
            f"Roll back Deployment {node.namespace}/{node.name} to revision {rev.revision} ({images})?",
            detail, write, verb="Undo", track_uid=node.uid, started=started)

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

    def configmaps_changed(self, configmaps: list[Obj]) -> None:
        """Watch mode: a real data change offers to restart the consumers that don't run it yet
        (or says so, read-only); opted-in consumers restart by themselves once the data settles."""
        app = self.app
        for configmap in configmaps:
            meta = configmap["metadata"]
            items = [i for i in restart_plan(configmap, app.store.list("Deployment", meta["namespace"]))
                     if i.needed]
            if not items:
                continue
            if app.readonly:
                users = ", ".join(i.consumer.deployment for i in items)
                app.notify(f"ConfigMap {meta['namespace']}/{meta['name']} changed; {users} still run the old "
                           "data (read-only: not restarting)", severity="warning", timeout=10)
                continue
            auto = frozenset(i.consumer.deployment for i in items
                             if wants_auto_restart(i.deployment, meta["name"]))
            if auto:
                self._auto_restart_soon(meta["namespace"], meta["name"])
            if len(auto) < len(items):
                self.offer_configmap_restart(configmap, changed=True, skip=auto)

    def _forget_offer(self, namespace: str, cm_name: str) -> None:
        self._configmap_offers.pop((namespace, cm_name), None)

    def offer_configmap_restart(self, configmap: Obj, *, changed: bool, skip: frozenset[str] = frozenset()) -> None:
        """Ask to restart the consumers that don't yet run this ConfigMap's data (watch mode and `R`).

        One offer per ConfigMap: while it is open, a further change retitles it rather than
        stacking a second one. Whenever it is answered, the restart stamps the data the
        ConfigMap holds then (see reload.restart_for_configmap). `skip` names consumers that
        restart automatically.
        """
        app = self.app
        meta = configmap["metadata"]
        namespace, cm_name = meta["namespace"], meta["name"]
        items = [i for i in restart_plan(configmap, app.store.list("Deployment", namespace))
                 if i.consumer.deployment not in skip]
        pending = [i for i in items if i.needed]
        name = f"ConfigMap {namespace}/{cm_name}"
        if not pending:
            if not changed:
                used = ", ".join(i.consumer.deployment for i in items)
                app.notify(f"{name}: " + (f"{used} already run{'s' if len(items) == 1 else ''} this data"
                                          if items else "no Deployment uses it"), timeout=6)
            return
        users = ", ".join(i.consumer.deployment for i in pending)
        verb = "uses" if len(pending) == 1 else "use"
        offer = self._configmap_offers.get((namespace, cm_name))
        if offer is not None and offer[0] in app.screen_stack:
            offer[1] += 1
            times = "" if offer[1] == 1 else f" {offer[1]} times"
            offer[0].retitle(f"{name} changed{times}. {users} {verb} this ConfigMap — restart with its "
                             "latest data?")
            return
        title = f"{name} changed. {users} {verb} this ConfigMap — restart?" if changed else \
            f"Restart {users} for {name}?"
        detail = "\n".join(f"{i.consumer.deployment}: via {', '.join(i.consumer.how)}" for i in pending)
        done = [i.consumer.deployment for i in items if not i.needed]
        if done:
            detail += f"\nalready on this data, left alone: {', '.join(done)}"
        detail += "\nStamps the data the ConfigMap holds when you confirm; consumers already on it are left alone."
        names = [i.consumer.deployment for i in pending]
        screen = self.confirm_write(
            title, detail, lambda ctx: reload.restart_consumers(ctx, namespace, cm_name, names), verb="Restart",
            answered=lambda _yes: self._forget_offer(namespace, cm_name))
        self._configmap_offers[(namespace, cm_name)] = [screen, 1 if changed else 0]
        for item in pending:
            app.track_rollout(item.deployment["metadata"]["uid"])

    def _auto_restart_soon(self, namespace: str, cm_name: str) -> None:
        """Restart the opted-in consumers once the ConfigMap has not changed for a settle window,
        so a burst of edits rolls them once, with the final data."""
        key = (namespace, cm_name)
        timer = self._auto_restart_timers.pop(key, None)
        if timer is not None:
            timer.stop()
        store = self.app.store
        self._auto_restart_timers[key] = self.set_timer(
            AUTO_RESTART_SETTLE_SECONDS, lambda: self._auto_restart_now(store, namespace, cm_name))

    def _auto_restart_now(self, store, namespace: str, cm_name: str) -> None:
        app = self.app
        self._auto_restart_timers.pop((namespace, cm_name), None)
        configmap = store.get("ConfigMap", namespace, cm_name)
        # Another context or namespace since (a new store), or read-only now: not this restart.
        if app.store is not store or app.readonly or configmap is None:
            return
        items = [i for i in restart_plan(configmap, store.list("Deployment", namespace))
                 if i.needed and wants_auto_restart(i.deployment, cm_name)]
        if items:
            for item in items:
                app.track_rollout(item.deployment["metadata"]["uid"])
            self.auto_restart(namespace, cm_name, [i.consumer.deployment for i in items])

    @work(thread=True, group="write")
    def auto_restart(self, namespace: str, cm_name: str, deployments: list[str]) -> None:
        """Opted-in consumers (Reloader or kdash annotations) restart without asking; each is audited."""
        app = self.app
        try:
            message = reload.restart_consumers(app.write_context(), namespace, cm_name, deployments)
        except KdashError as exc:
            app.notify(exc.message, title=exc.title, severity="error", timeout=12)
            return
        app.notify(message, title="Auto-restart", timeout=8)


def _full_images(replicasets: list, rev: Revision) -> str:
    """The revision's images as the pod template names them (the history table shortens them)."""
    rs = next((r for r in replicasets if (r.get("metadata") or {}).get("uid") == rev.uid), None)
    spec = (((rs or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    return ", ".join(container_images(spec, short=False) or rev.images)
