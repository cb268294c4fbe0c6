"""The common path of every write flow: target check, write gate, RBAC note, prompt, confirm, worker."""

from __future__ import annotations

import dataclasses
import importlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from rich.text import Text
from textual import events

from kdash.actions.registry import ACTIONS, BY_ID, Action
from kdash.actions.safety import WriteContext
from kdash.core.objects import Obj
from kdash.errors import KdashError
from kdash.render.tree import Node
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.modals import PromptScreen
from kdash.screens.toasts import notify_error
from kdash.screens.typed_app import AppScreen

if TYPE_CHECKING:
    from rich.syntax import Syntax  # a type only: importing pygments is left to the screens that show a diff

    from kdash.kube.client import Connection  # a type only: screens reach the cluster through the app
    from kdash.widgets.resource_tree import ResourceTree

Write = Callable[[WriteContext], str]
# A write not answered by then says, on the status line, that it is waiting for the server.
WAITING_NOTE_AFTER = 0.5
FLOWS_PACKAGE = "kdash.screens.flows"

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Target:
    """What a flow starts from: its registry row and the selected object it applies to."""

    action: Action
    node: Node
    obj: Obj

    @property
    def what(self) -> str:
        """"Deployment ns/name", as titles and messages name the target."""
        return f"{self.node.kind} {self.node.namespace}/{self.node.name}"


class Flow(Protocol):
    """A flow module (kdash/screens/flows/<name>.py): `start` runs once the host let the key through."""

    def start(self, host: FlowHost, target: Target) -> None: ...


class FlowHost(AppScreen):
    """Mixed into DashboardScreen: runs the registry rows that name a `flow`, and the write gate they share."""

    if TYPE_CHECKING:
        @property
        def tree(self) -> ResourceTree: ...  # type: ignore[override]  # the dashboard's (see there)

        _message: str  # the dashboard's status line, and how it is set

        def say(self, message: str) -> None: ...

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._flow_state: dict[str, Any] = {}

    def flow_state(self, key: str, factory: Callable[[], T]) -> T:
        """State a flow keeps between runs on this screen (pending undos, open offers), made on first use."""
        if key not in self._flow_state:
            self._flow_state[key] = factory()
        return cast(T, self._flow_state[key])

    # -- dispatch ------------------------------------------------------------------------------

    def run_flow(self, action_id: str) -> None:
        """The key of a flow row: check the selection (kind) and, for a write, the gate; then the flow."""
        action = BY_ID[action_id]
        target = self._target(action_id) if action.writes else self._selected_target(action_id)
        if target is not None:
            flow = cast(Flow, importlib.import_module(f"{FLOWS_PACKAGE}.{action.flow}"))
            flow.start(self, Target(action, *target))

    def _selected_target(self, action_id: str) -> tuple[Node, Obj] | None:
        node = self._selected(action_id)
        obj = self.app.object_for(node) if node is not None else None
        return None if node is None or obj is None else (node, obj)

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
        if node is None or not self.app.writable(BY_ID[action_id], node.kind):
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

    # -- prompt, prepare, confirm, write ----------------------------------------------------------

    def ask(self, prompt: PromptScreen, parse: Callable[[str], T], then: Callable[[T], object]) -> None:
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


    def prepare(self, work: Callable[[], None]) -> None:
        """Run `work` in a thread worker (requests that prepare a confirmation: an HPA lookup, a dry
        run); it hands its result to the UI thread with `app.call_from_thread`."""
        self.run_worker(work, thread=True, group="write-prep")

    def confirm_write(self, title: str, detail: str | Text | Syntax, write: Write, *, verb: str = "Apply",
                      track_uid: str | None = None, started: Callable[[], None] | None = None,
                      answered: Callable[[bool], object] | None = None,
                      prepared_on: object | None = None,
                      run: Callable[[Connection | None], None] | None = None,
                      done: Callable[[str], None] | None = None) -> ConfirmScreen | None:
        """Ask, then run `write(ctx)` in a thread worker; its one-line result or error is shown.

        `started` runs on the UI thread once the user said yes, before the worker; `answered`
        with the answer, either way. Returns the confirmation screen. `prepared_on`: the
        connection a worker read from to prepare this (a dry run, an HPA lookup); if the context
        changed since, nothing is asked (None is returned) and nothing is sent. `run`, given, is
        called on the UI thread with the confirmed connection instead of the worker (an interactive
        shell needs the terminal). `done` runs on the UI thread with the result once the write succeeded
        (a write that starts a rollout opens its watch).
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
                    self._run_write(write, track_uid, confirmed, done)

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

    def _run_write(self, write: Write, track_uid: str | None, confirmed: Connection | None,
                   done: Callable[[str], None] | None = None) -> None:
        """The confirmed write, in a thread worker: "waiting" on the status line if the server is slow."""
        self.run_worker(lambda: self._write_now(write, track_uid, confirmed, done), thread=True, group="write")

    def _write_now(self, write: Write, track_uid: str | None, confirmed: Connection | None,
                   done_then: Callable[[str], None] | None = None) -> None:
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
        if done_then is not None:
            app.call_from_thread(done_then, message)


def _bind(action_id: str) -> Callable[[FlowHost], None]:
    def action(self: FlowHost) -> None:
        self.run_flow(action_id)

    action.__name__ = action.__doc__ = f"action_{action_id}"
    return action


# Textual runs a key's binding as the screen's `action_<id>` method: one per flow row of the registry,
# so that a new flow needs no method here.
for _action in ACTIONS:
    if _action.flow:
        setattr(FlowHost, f"action_{_action.id}", _bind(_action.id))
