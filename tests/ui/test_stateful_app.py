"""Random user actions and cluster events drive the whole app; every safety promise is checked after each step."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from textual.screen import ModalScreen
from textual.worker import WorkerState

import kdash.app
from kdash.actions.safety import AuditLog
from kdash.app import KdashApp
from kdash.config import Settings
from kdash.core.kinds import WATCHED_KINDS
from kdash.render import tree as render_tree
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.modals import PickScreen, PromptScreen
from tests.ui.stateful_harness import (
    ADMIN,
    CONTEXTS,
    DEV,
    DOWN,
    HEALTHY,
    HOSTILE,
    NAMESPACES,
    PROD,
    SILENT,
    SLOW,
    FakeEventFeed,
    FakeWatcher,
    World,
    control_chars,
    event,
    kubeconfig_text,
    pod,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SIZE = (120, 40)  # tall enough for the details pane (annotations, events)
SETTLE_ROUNDS = 400
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "Pod")
TARGET = re.compile(r"\b(Deployment|Pod) ([^/\s]+)/([^\s?]+)")
OBJECT_PATH = re.compile(r"/namespaces/(?P<ns>[^/]+)/(?P<plural>deployments|pods)/(?P<name>[^/]+)")
HEADER_CONTEXT = re.compile(r"\bctx (\S+)")

healthy = st.sampled_from(HEALTHY)


@dataclass(frozen=True)
class Answer:
    """How the test answered a confirmation, and what that confirmation said."""

    how: str
    typed: str
    title: str
    context: str
    protected: bool
    confirmed: bool = False


async def _quick_idle(min_sleep: float = 0, max_sleep: float = 1) -> None:
    """Textual's wait_for_idle sleeps until the CPU looks idle (tens of ms a key); the settle loop
    below waits for the app's real work instead (workers, message queues)."""
    for _ in range(3):
        await asyncio.sleep(0)


class Driver:
    """Runs the app inside `run_test` on a private loop; each command runs in that one task."""

    def __init__(self, app: KdashApp) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue | None = None
        self.patches = [mock.patch("textual.app.wait_for_idle", _quick_idle),
                        mock.patch("textual.pilot.wait_for_idle", _quick_idle)]
        for patch in self.patches:
            patch.start()
        self.task = self.loop.create_task(self._main())

    async def _main(self) -> None:
        self.queue = asyncio.Queue()
        async with self.app.run_test(size=SIZE) as pilot:
            while True:
                command, done = await self.queue.get()
                if command is None:
                    done.set_result(None)
                    return
                try:
                    done.set_result(await command(pilot))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    done.set_exception(exc)

    def run(self, command):
        async def send():
            while self.queue is None:
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(0)
            done = self.loop.create_future()
            self.queue.put_nowait((command, done))
            await asyncio.wait({done, self.task}, return_when=asyncio.FIRST_COMPLETED)
            if done.done():
                return done.result()
            self.task.result()  # the app crashed: its exception
            raise AssertionError("the app exited")

        return self.loop.run_until_complete(send())

    def close(self) -> None:
        try:
            if not self.task.done():
                self.run(None)
                self.loop.run_until_complete(self.task)
        finally:
            self.loop.close()
            for patch in self.patches:
                patch.stop()


class KdashMachine(RuleBasedStateMachine):
    CHECKS: tuple[str, ...] = ()
    """The checks this run makes after each step (see GROUPS)."""

    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.tmp = tempfile.TemporaryDirectory(prefix="kdash-stateful-")
        self.app: KdashApp | None = None
        self.driver: Driver | None = None
        self.patches: list = []
        self.answers: list[Answer] = []  # answers given since the last check
        self.dismissed: list = []  # (ConfirmScreen, its result), in order
        self.writes_seen = 0
        self.audit_seen = 0
        self.events_made = 0
        self.settings = Settings(readonly_contexts=[ADMIN], protected_contexts=[PROD])
        self.chosen: str | None = None  # the context the user switched to last that connected
        self.slow_wanted = False  # the last choice was the slow server, still held

    # -- setup -------------------------------------------------------------------------------

    @initialize(context=healthy, order=st.permutations(WORKLOAD_KINDS), note=st.sampled_from(("",) + HOSTILE))
    def start(self, context, order, note):
        for name, cluster in self.world.clusters.items():
            self.world.seed(cluster, "default", "web", note=note, order=order)
            self.world.seed(cluster, "shop", f"{name}-shop")
            cluster.put("Pod", pod("default", "solo", message=note))
        watcher = type("Watcher", (FakeWatcher,), {"order": tuple(order) + tuple(
            k.name for k in WATCHED_KINDS if k.name not in order)})
        dismiss = ConfirmScreen.dismiss

        def dismissed(screen, result=None):  # what each confirmation answered
            self.dismissed.append((screen, result))
            return dismiss(screen, result)

        self.patches = [mock.patch.object(kdash.app, "Watcher", watcher),
                        mock.patch.object(kdash.app, "EventFeed", FakeEventFeed),
                        mock.patch.object(ConfirmScreen, "dismiss", dismissed)]
        for patch in self.patches:
            patch.start()
        kubeconfig = Path(self.tmp.name) / "kubeconfig"
        kubeconfig.write_text(kubeconfig_text())
        self.app = KdashApp(connector=self.world.connector, kubeconfig=str(kubeconfig), context=context,
                            namespace="default", settings=self.settings, clock=lambda: NOW,
                            start_watch=False, audit=AuditLog(Path(self.tmp.name) / "audit.log"))
        self.world.recorder.app_context = self._app_context
        self.driver = Driver(self.app)

        async def connect(pilot):
            self.app.coalescer.min_interval = 0  # flush every change at once: no timers to wait for
            self.app.connect_and_watch(context)
            await self._settle(pilot)

        self.driver.run(connect)
        self.chosen = context

    def teardown(self) -> None:
        try:
            if self.driver is not None and not self.driver.task.done() and self.world.gate.waiting:
                self.held_servers_answer()  # held connects end while the app runs, not during its exit
            self.world.gate.release()
            if self.driver is not None:
                self.driver.close()
        finally:
            for patch in self.patches:
                patch.stop()
            self.tmp.cleanup()

    def _app_context(self) -> str | None:
        connection = self.app.connection if self.app is not None else None
        return connection.context_name if connection is not None else None

    # -- driving -----------------------------------------------------------------------------

    async def _settle(self, pilot) -> None:
        """Until every worker is done (or held by the silent or slow server) and every store change is shown."""
        app = self.app
        unchanged, last = 0, None
        for _ in range(SETTLE_ROUNDS):
            await pilot.pause()
            busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                    and w not in self.world.gate.workers]
            # Work waiting on a held server from a thread no worker owns cannot finish before release.
            unchanged = unchanged + 1 if self.world.gate.waiting and busy == last else 0
            last = busy
            if (not busy or unchanged > 20) and not app.coalescer._pending:
                if self._list_next():
                    continue  # the next kind's list arrives once the previous one is shown
                await pilot.pause()
                return
        raise AssertionError(f"the app did not settle: busy workers {busy}")

    def _list_next(self) -> bool:
        return any(w.list_next() for c in self.world.clusters.values() for w in list(c.watchers))

    def _do(self, *keys: str, then=None) -> None:
        async def command(pilot):
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
            if then is not None:
                await then(pilot)
            await self._settle(pilot)

        self.driver.run(command)

    def _top(self, kind) -> bool:
        return self.app is not None and isinstance(self.app.screen, kind)

    def on_dashboard(self) -> bool:
        return self._top(DashboardScreen)

    def on_prompt(self) -> bool:
        return self._top(PromptScreen)

    def on_picker(self) -> bool:
        return self._top(PickScreen)

    def on_modal(self) -> bool:
        return self._top((PromptScreen, PickScreen, ConfirmScreen))

    def on_full_screen(self) -> bool:
        """YAML view (or another full screen) on top: escape leaves it."""
        return self.app is not None and not isinstance(self.app.screen, (DashboardScreen, ModalScreen))

    def covered(self) -> bool:
        """A full screen hides the dashboard (modals leave it visible, and it keeps updating)."""
        stack = self.app.screen_stack
        above = stack[stack.index(self.app.dashboard) + 1:]
        return any(not isinstance(screen, ModalScreen) for screen in above)

    # -- user actions ------------------------------------------------------------------------

    @precondition(on_dashboard)
    @rule(key=st.sampled_from(["1", "2", "3", "4", "5", "tab"]))
    def switch_view(self, key):
        self._do(key)

    @precondition(on_dashboard)
    @rule(key=st.sampled_from(["up", "down", "home", "end", "pagedown"]), times=st.integers(1, 3))
    def move_cursor(self, key, times):
        self._do(*[key] * times)

    @precondition(on_dashboard)
    @rule(kind=st.sampled_from(["Deployment", "Pod", "ReplicaSet", "ConfigMap", "Service"]), index=st.integers(0, 4))
    def select(self, kind, index):
        async def pick(pilot):
            tree = self.app.dashboard.tree
            keys = [k for k in tree.keys() if k.startswith(kind + "/") or f"/{kind}/" in k]
            if keys:
                tree.select_key(keys[index % len(keys)])

        self._do(then=pick)

    @precondition(on_dashboard)
    @rule(text=st.sampled_from(["web", "shop", "r2", "-l app=web", "zzz", "-l app in (", ""]),
          submit=st.booleans())
    def filter(self, text, submit):
        self._do("slash", *_typing(text, clear=True), "enter" if submit else "escape")

    @precondition(on_dashboard)
    @rule()
    def clear_filter(self):
        self._do("escape")

    @precondition(on_dashboard)
    @rule(choice=st.sampled_from(("*",) + NAMESPACES), cancel=st.booleans())
    def switch_namespace(self, choice, cancel):
        self._do("n", then=_choose(choice, cancel))

    @precondition(on_dashboard)
    @rule()
    def all_namespaces(self):
        self._do("0")

    @precondition(on_dashboard)
    @rule(choice=st.sampled_from(CONTEXTS + (DOWN, SILENT, SLOW)), cancel=st.sampled_from([False, False, True]))
    def switch_context(self, choice, cancel):
        chose = []

        async def choose(pilot):
            chose.append(await _choose(choice, cancel)(pilot))

        self._do("c", then=choose)
        if chose and chose[0]:
            self.slow_wanted = choice == SLOW  # a later choice supersedes a held one
            if choice in HEALTHY:
                self.chosen = choice

    @precondition(on_dashboard)
    @rule(choice=st.sampled_from((DOWN, SILENT, SLOW)))
    def switch_to_an_unanswering_context(self, choice):
        """The transition where promises broke: weighted up by being a rule of its own."""
        self.switch_context(choice, cancel=False)

    @precondition(on_dashboard)
    @rule(key=st.sampled_from(["s", "i", "r", "U", "ctrl+d", "R"]), index=st.integers(0, 4))
    def select_and_write(self, key, index):
        """Select an object the write applies to (if any is shown), then press its key."""
        kind = {"ctrl+d": "Pod", "R": "ConfigMap"}.get(key, "Deployment")
        self.select(kind, index)
        self._do(key)

    @precondition(on_dashboard)
    @rule(key=st.sampled_from(["s", "i", "r", "U", "ctrl+d", "R"]))
    def open_write(self, key):
        self._do(key)

    @precondition(on_dashboard)
    @rule(end=st.booleans())
    def scroll_details(self, end):
        """The mouse wheel over the details pane: its events are below the describe sections."""
        async def scroll(pilot):
            pane = self.app.dashboard.query_one("#details-scroll")
            pane.scroll_end(animate=False) if end else pane.scroll_home(animate=False)

        self._do(then=scroll)

    @precondition(on_dashboard)
    @rule()
    def open_yaml(self):
        self._do("y")

    @precondition(on_full_screen)
    @rule()
    def leave_screen(self):
        self._do("escape")

    @precondition(on_modal)
    @rule(text=st.sampled_from(["3", "0", "1", "nginx:1.26", "busybox", "x", "-1", ""]),
          submit=st.sampled_from([True, True, False]),
          how=st.sampled_from(["y", "type_context", "y", "type_context", "n", "escape", "enter", "type_wrong"]))
    def answer(self, text, submit, how):
        """Answer whatever asks: a prompt (type, then enter or escape), a picker, a confirmation."""
        if not self.on_modal():
            return  # (replayed scenarios) nothing asked: the write was refused before any prompt
        if self.on_prompt():
            self._do(*_typing(text, clear=True), "enter" if submit else "escape")
        elif self.on_picker():
            self._do("enter" if submit else "escape")
        else:
            self._answer_confirm(how)

    @precondition(on_modal)
    @rule(text=st.sampled_from(["2", "nginx:1.27"]), how=st.sampled_from(["y", "type_context", "n"]))
    def answer_again(self, text, how):
        """A second way to answer, so that a run which switches `answer` off still gets past modals."""
        self.answer(text, True, how)

    def _answer_confirm(self, how):
        screen = self.app.screen
        shown = Answer(how, "", _label(screen, "#title"), _label(screen, "#context").removeprefix("context: "),
                       bool(screen.query("#typed")))
        typed = {"type_context": shown.context, "type_wrong": shown.context + "x"}.get(how)
        if typed is not None and not shown.protected:
            how, typed = "y", None  # no field to type into: a user presses y
        keys = ["y"] if how == "y" else ["enter"] if how == "enter" else [how] if typed is None else \
            [*_typing(typed, clear=True), "enter"]
        self._do(*keys)
        confirmed = any(s is screen and result is True for s, result in self.dismissed)
        self.answers.append(Answer(how, typed or "", shown.title, shown.context, shown.protected, confirmed))

    # -- cluster events ----------------------------------------------------------------------
    # One rule for all of them, so that they don't crowd the user's actions out of a sequence.

    @rule(what=st.sampled_from(["add", "delete", "modify", "event", "configmap", "relist"]), context=healthy,
          namespace=st.sampled_from(NAMESPACES), kind=st.sampled_from(WORKLOAD_KINDS + ("ConfigMap", "Service")),
          index=st.integers(0, 9), text=st.sampled_from(("",) + HOSTILE), order=st.permutations(WORKLOAD_KINDS))
    def cluster_changes(self, what, context, namespace, kind, index, text, order):
        cluster = self.world.clusters[context]

        async def change(pilot):
            if what == "add":
                objs = self.world.workload(cluster, namespace, "api" if index % 2 else "db", note=text)
                for each in order:  # each kind's objects are shown before the next kind's arrive
                    for obj in objs[each]:
                        cluster.put(each, obj)
                    await self._settle(pilot)
            elif what == "relist":
                for each in self.world.clusters.values():
                    for watcher in list(each.watchers):
                        watcher.relist()
            elif what == "configmap":
                configmaps = cluster.list("ConfigMap", namespace)
                if configmaps:
                    cluster.put("ConfigMap", dict(configmaps[0], data={"key": text, "other": "plain"}))
            else:
                objs = cluster.list("Deployment" if what == "modify" else kind)
                if not objs:
                    return
                obj = objs[index % len(objs)]
                if what == "delete":
                    cluster.remove(kind, obj["metadata"]["namespace"], obj["metadata"]["name"])
                elif what == "modify":
                    meta = dict(obj["metadata"], annotations={**obj["metadata"]["annotations"], "note": text})
                    cluster.put("Deployment", dict(obj, metadata=meta, spec=dict(obj["spec"], replicas=index % 4)))
                elif kind in ("Deployment", "Pod"):
                    self.events_made += 1
                    cluster.put("Event", event(obj, kind, text or "plain", self.events_made))

        self._do(then=change)

    @precondition(lambda self: self.world.gate.waiting > 0)
    @rule()
    def held_servers_answer(self):
        """The silent server's requests time out; the slow server's are answered."""
        if self.slow_wanted:
            self.chosen, self.slow_wanted = SLOW, False

        async def release(pilot):
            before = len(self.app._notifications)
            failing = self.world.gate.release()
            for _ in range(SETTLE_ROUNDS):  # each failed connect says so once its thread is back
                await pilot.pause()
                if self.world.gate.waiting == 0 and len(self.app._notifications) >= before + failing:
                    break
            for _ in range(3):  # a released connect that succeeds says nothing: let its thread report back
                await asyncio.sleep(0.005)
                await pilot.pause()

        self._do(then=release)

    # -- invariants --------------------------------------------------------------------------

    def _new_writes(self):
        return self.world.recorder.writes(0)[self.writes_seen:]

    def no_write_to_a_readonly_context(self):
        for request in self._new_writes():
            assert request.context not in self.settings.readonly_contexts, (
                f"write {request.method} {request.path} reached read-only context {request.context!r} "
                f"(header: {self._header()!r})")

    def every_write_was_confirmed_as_its_context_requires(self):
        confirmed = [a for a in self.answers if a.confirmed]
        for request in self._new_writes():
            if request.dry_run:
                continue  # a preview (apply, edit) changes nothing and comes before its confirmation
            assert confirmed, f"write {request.method} {request.path} to {request.context!r} without a confirmation"
            answer = confirmed[-1]
            if request.context in self.settings.protected_contexts:
                assert answer.how == "type_context" and answer.typed == request.context, (
                    f"write {request.method} {request.path} to protected context {request.context!r} confirmed "
                    f"by {answer.how!r} (typed {answer.typed!r}) on a confirmation naming {answer.context!r}")

    def every_write_went_to_the_connection_in_use(self):
        for request in self._new_writes():
            assert request.app_context == request.context, (
                f"write {request.method} {request.path} went to {request.context!r} while the app used "
                f"{request.app_context!r}")
        lines = self.app.audit.lines()[self.audit_seen:] if self.app else []
        in_use = self._app_context()
        for line in lines:
            assert line["context"] == in_use, (
                f"audit line names context {line['context']!r} but the connection in use is {in_use!r}: {line}")

    def connection_in_use_is_the_last_one_chosen(self):
        in_use = self._app_context()
        assert in_use == self.chosen, (
            f"the app uses context {in_use!r}, but the last context the user chose (that answered) is "
            f"{self.chosen!r}")

    def header_names_the_connection_in_use(self):
        if self.app is None:
            return
        header = self._header()
        in_use = self._app_context()
        if "connecting" in header:
            return
        shown = HEADER_CONTEXT.search(header)
        assert shown and shown.group(1) == in_use, (
            f"header says {header.strip()!r} but the connection in use is {in_use!r}")
        readonly = in_use in self.settings.readonly_contexts
        assert ("READONLY" in header) == readonly, (
            f"header {header.strip()!r}: READONLY badge {'missing' if readonly else 'shown'} for {in_use!r}")

    def confirmation_named_what_the_write_targeted(self):
        confirmed = [a for a in self.answers if a.confirmed]
        for request in self._new_writes():
            if not confirmed or request.dry_run:
                continue  # reported by every_write_was_confirmed_as_its_context_requires
            answer = confirmed[-1]
            assert answer.context == request.context, (
                f"confirmation named context {answer.context!r} ({answer.title!r}) but the write "
                f"{request.method} {request.path} went to {request.context!r}")
            named = TARGET.search(answer.title)
            target = OBJECT_PATH.search(request.path)
            if named and target:
                kind = "Deployment" if target["plural"] == "deployments" else "Pod"
                assert (named[1], named[2], named[3]) == (kind, target["ns"], target["name"]), (
                    f"confirmation {answer.title!r} but the write {request.method} {request.path}")

    def no_control_character_reaches_the_screen(self):
        leaks = []
        for screen in self.app.screen_stack:
            for y, strip in enumerate(screen._compositor.render_strips()):
                bad = sorted({c for s in strip if not s.control for c in control_chars(s.text)})
                if bad:
                    leaks.append(f"{type(screen).__name__} line {y} {bad}: "
                                 f"{''.join(s.text for s in strip if not s.control).strip()!r}")
        assert not leaks, "control characters from the cluster reach the screen:\n  " + "\n  ".join(leaks)

    def tree_shows_a_fresh_build_of_the_store(self):
        if self.app is None or self.covered():
            return
        dashboard = self.app.dashboard
        shown = _widget_lines(dashboard.tree)
        expected = [(depth, node.key, render_tree.label_at(node, NOW))
                    for depth, node in render_tree.flatten(_fresh_build(self.app, dashboard))]
        assert shown == expected, _tree_difference(f"the {dashboard.view} tree's nodes", shown, expected)
        # The lines it paints come from its own line cache, patched separately from the nodes.
        painted = [(line.node.data, label) for line, label in zip(dashboard.tree._tree_lines,
                                                                  dashboard.tree.visible_labels())]
        open_lines = [(key, label) for _, key, label in _widget_lines(dashboard.tree, expanded_only=True)]
        assert painted == open_lines, _tree_difference(f"the {dashboard.view} tree's painted lines", painted,
                                                       open_lines)

    @invariant()
    def safety_promises_hold(self):
        """Each promise is its own check (its name and message say which broke); then the step is done."""
        if self.driver is None:
            return

        async def check(pilot):  # inside the app's task: rendering needs its active app
            self.check_all()

        self.driver.run(check)

    def check_all(self) -> None:
        for name in self.CHECKS:
            getattr(self, name)()
        self.writes_seen = len(self.world.recorder.writes(0))
        self.audit_seen = len(self.app.audit.lines())
        self.answers = []

    def _header(self) -> str:
        try:
            dashboard = self.app.dashboard
        except LookupError:
            return ""
        strips = dashboard._compositor.render_strips()
        return "".join(s.text for s in strips[0] if not s.control) if strips else ""


# -- helpers -----------------------------------------------------------------------------------


def _typing(text: str, *, clear: bool) -> list[str]:
    """Keys that replace an Input's value with `text` (end, delete to the start, then each character)."""
    keys = ["end", "ctrl+u"] if clear else []
    return keys + [{" ": "space"}.get(c, c) for c in text]


def _choose(target: str, cancel: bool):
    """In a PickScreen: move the highlight to the option `target`, then enter (or escape)."""
    async def choose(pilot) -> bool:
        """True if `target` was chosen."""
        screen = pilot.app.screen
        if not isinstance(screen, PickScreen):
            return False
        if not cancel:
            from textual.widgets import OptionList

            options = screen.query_one(OptionList)
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            if target in ids:
                current = options.highlighted if options.highlighted is not None else -1
                step = "down" if ids.index(target) > current else "up"
                for _ in range(abs(ids.index(target) - current)):
                    await pilot.press(step)
                await pilot.press("enter")
                return True
        await pilot.press("escape")
        return False

    return choose


def _label(screen, selector: str) -> str:
    widget = screen.query_one(selector)
    return str(widget.render()).strip()


def _widget_lines(tree, *, expanded_only: bool = False) -> list[tuple[int, str, str]]:
    """The nodes the tree widget holds (all, or those under expanded nodes): depth, key, painted label."""
    lines: list[tuple[int, str, str]] = []

    def walk(widget, depth: int) -> None:
        for child in widget.children:
            lines.append((depth, child.data, tree._painted(child).plain))
            if child.is_expanded or not expanded_only:
                walk(child, depth + 1)

    walk(tree.root, 0)
    return lines


def _fresh_build(app: KdashApp, dashboard: DashboardScreen) -> list[render_tree.Node]:
    """The dashboard's own build from the store alone (no feed, no cache), filtered as shown."""
    return dashboard.view_nodes(fresh=True)


def _tree_difference(what: str, shown: list, expected: list) -> str:
    extra = list((Counter(shown) - Counter(expected)).elements())
    missing = list((Counter(expected) - Counter(shown)).elements())
    return (f"{what} differ from a fresh build of the store:\n  shown but not built: {extra[:8]}\n"
            f"  built but not shown: {missing[:8]}" + ("" if extra or missing else "\n  (same lines, other order)"))


# A short, derandomized run belongs to the normal `pytest`; `make stateful` (KDASH_STATEFUL_EXAMPLES=N)
# runs N random examples per group, longer ones, and shrinks what it finds.
EXAMPLES = int(os.environ.get("KDASH_STATEFUL_EXAMPLES", "0"))
# One hypothesis run per group, so that one broken promise hides no other; each check in a group
# is its own method with its own message.
GROUPS = {
    "writes_reach_only_what_was_confirmed": (
        "no_write_to_a_readonly_context", "every_write_was_confirmed_as_its_context_requires",
        "every_write_went_to_the_connection_in_use", "confirmation_named_what_the_write_targeted"),
    "header_names_the_connection_in_use": ("header_names_the_connection_in_use",),
    "connection_in_use_is_the_last_one_chosen": ("connection_in_use_is_the_last_one_chosen",),
    "no_control_character_reaches_the_screen": ("no_control_character_reaches_the_screen",),
    "tree_shows_a_fresh_build_of_the_store": ("tree_shows_a_fresh_build_of_the_store",),
}
# Reaching a write through a failed switch takes a longer sequence than the other promises need.
SHORT_RUN = {"writes_reach_only_what_was_confirmed": (12, 25), "connection_in_use_is_the_last_one_chosen": (8, 20)}


def _settings(group: str) -> settings:
    examples, steps = SHORT_RUN.get(group, (5, 20))
    return settings(
        max_examples=EXAMPLES or examples,
        stateful_step_count=40 if EXAMPLES else steps,
        deadline=None,
        derandomize=not EXAMPLES,
        database=None,  # no .hypothesis directory in the work tree: failures print a reproduce blob
        suppress_health_check=list(HealthCheck),
        # The short run reports the sequences it found as they are; `make stateful` shrinks them.
        phases=list(Phase) if EXAMPLES else [Phase.explicit, Phase.generate],
        print_blob=True,
    )


def _test_case(group: str):
    machine = type(f"Check_{group}", (KdashMachine,), {"CHECKS": GROUPS[group]})
    case = machine.TestCase
    case.settings = _settings(group)
    case.__name__ = case.__qualname__ = "Test_" + group
    return case


for _group in GROUPS:
    globals()["Test_" + _group] = _test_case(_group)


# -- the shortest sequences found, as plain scenarios (each fails while its promise is broken) ----------


def _replay(group: str, context: str, *steps, note: str = "", order=WORKLOAD_KINDS) -> None:
    """Run `steps` (callables of the machine) from a start on `context`, the group's checks after each."""
    machine = type("Replay", (KdashMachine,), {"CHECKS": GROUPS[group]})()
    try:
        machine.start(context, list(order), note)
        machine.safety_promises_hold()
        for step in steps:
            step(machine)
            machine.safety_promises_hold()
    finally:
        machine.teardown()


def test_failed_switch_from_a_readonly_context_writes_nothing():
    _replay("writes_reach_only_what_was_confirmed", ADMIN, lambda m: m.switch_context(DOWN, False),
            lambda m: m.select_and_write("s", 0),
            lambda m: m.answer("3", True, "y"), lambda m: m.answer("", True, "y"))


def test_failed_switch_from_a_protected_context_still_asks_for_its_name():
    _replay("writes_reach_only_what_was_confirmed", PROD, lambda m: m.switch_context(DOWN, False),
            lambda m: m.select_and_write("r", 0),
            lambda m: m.answer("", True, "type_context"))


def test_write_while_switching_to_a_silent_context_goes_where_the_confirmation_says():
    _replay("writes_reach_only_what_was_confirmed", DEV, lambda m: m.switch_context(SILENT, False),
            lambda m: m.select_and_write("ctrl+d", 0),
            lambda m: m.answer("", True, "y"))


def test_configmap_restart_offer_during_a_hanging_switch_respects_readonly():
    # The confirmation comes from the cluster (a ConfigMap's data changed), not from a key.
    _replay("writes_reach_only_what_was_confirmed", ADMIN, lambda m: m.switch_context(SILENT, False),
            lambda m: m.cluster_changes("configmap", ADMIN, "default", "ConfigMap", 0, "new data", WORKLOAD_KINDS),
            lambda m: m.answer("", True, "y"))


def test_header_names_the_cluster_shown_while_a_switch_hangs():
    _replay("header_names_the_connection_in_use", DEV, lambda m: m.switch_context(SILENT, False),
            lambda m: m.all_namespaces())


def test_an_abandoned_slow_switch_does_not_take_over_later():
    _replay("connection_in_use_is_the_last_one_chosen", ADMIN, lambda m: m.switch_context(SLOW, False),
            lambda m: m.switch_context(DEV, False),
            lambda m: m.held_servers_answer())


def test_annotation_escape_sequences_do_not_reach_the_screen():
    _replay("no_control_character_reaches_the_screen", DEV, note=HOSTILE[0])


def test_pods_listed_before_their_replicasets_are_painted_once():
    _replay("tree_shows_a_fresh_build_of_the_store", DEV, order=("Pod", "Deployment", "ReplicaSet"))
