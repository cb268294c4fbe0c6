"""The Textual app: the connection and its store and watcher, the screens; keys, switching and writes mixed in."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.theme import Theme
from textual.timer import Timer

from kdash import config
from kdash.actions.port_forward import Forwards
from kdash.actions.safety import AuditLog
from kdash.app.keys import ActionsProvider, Keys
from kdash.app.switching import ALL_NAMESPACES_LABEL, Switching
from kdash.app.writes import WriteAccess
from kdash.core import objects
from kdash.core.configmaps import DataChanges
from kdash.core.objects import Obj, full, is_terminating
from kdash.errors import KdashError
from kdash.heap import LOAD_TIMEOUT, HeapFreezer
from kdash.keymap import check_keymap
from kdash.kube.client import CONNECT_DEADLINE, Connection, connect
from kdash.kube.events import EventFeed
from kdash.kube.namespaces import primary
from kdash.kube.namespaces import split as split_namespaces
from kdash.kube.store import Store
from kdash.kube.watcher import Watcher
from kdash.lifeline import Lifeline
from kdash.messages import Coalescer, InputFirst, StoreChanged
from kdash.render.tree import Node
from kdash.screens.dashboard import VIEW_KINDS, DashboardScreen, bindings
from kdash.widgets import paste_parser, textual_fixes
from kdash.widgets.control_filter import ControlCharacterFilter

if TYPE_CHECKING:
    from kdash.boot import EarlyStart

Connector = Callable[[str | None, str | None], Connection]
Clock = Callable[[], datetime]
# Ages in the details pane change with time alone (the tree moves its own at paint time).
AGE_REFRESH_SECONDS = 1.0
# A rollout started from kdash stays on the progress strip this long, even once complete.
TRACK_ROLLOUT_SECONDS = 20.0
# A switch gives up this long after the probe's own deadline: loading the kubeconfig (an exec
# plugin, a DNS lookup) is not bounded by the probe's socket timeouts.
SWITCH_GRACE = 1.0


class KdashApp(Keys, Switching, WriteAccess, App[None]):
    TITLE = "kdash"
    # ctrl+c quits from every screen, modal ones too (as in k9s), hence a priority binding.
    BINDINGS = bindings(lambda action: action.group == "app") + [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]
    COMMANDS = App.COMMANDS | {ActionsProvider}

    def __init__(self, *, connector: Connector = connect, kubeconfig: str | None = None,
                 context: str | None = None, namespace: str | None = None, all_namespaces: bool = False,
                 readonly: bool = False, settings: config.Settings | None = None,
                 theme: str | None = None, clock: Clock | None = None, start_watch: bool = True,
                 audit: AuditLog | None = None, early: EarlyStart | None = None) -> None:
        """`early`: a watch started before the UI was imported (kdash/boot.py); adopted on mount
        when it is the one this app would start, else stopped."""
        textual_fixes.apply()
        super().__init__()
        self.settings = settings or config.load_settings()
        self.connector = connector
        self.kubeconfig = kubeconfig
        self.requested_context = context
        self.requested_namespace = None if all_namespaces else namespace
        self.all_namespaces = all_namespaces
        self.cli_readonly = readonly
        self.clock = clock or (lambda: datetime.now(UTC))
        self.start_watch = start_watch
        self.store = Store()
        self.connection: Connection | None = None
        self.watcher: Watcher | None = None
        self.events_feed: EventFeed | None = None
        # Shown until the first connection; from then on the connection's own name is.
        self._context_label = context or "?"
        # The context a switch is connecting to; the current connection stays in use meanwhile.
        self.pending_context: str | None = None
        # Bumped by every connect request: a result carrying an older number is discarded.
        self._connect_generation = 0
        self._namespace_seen = False
        self.namespace: str | None = None
        self.server_version = ""
        self.coalescer = Coalescer(self.post_message)
        self.input_first = InputFirst()
        self._held_flush: Timer | None = None
        self.heap = HeapFreezer()
        self._early: EarlyStart | None = None
        if early is not None:
            if start_watch and early.watching.serves(kubeconfig, context, namespace, all_namespaces):
                self._early, self.heap = early, early.heap  # the heap it installed is loading its store
            else:
                early.abandon()
        self.denied: set[str] = set()  # action ids an RBAC pre-check refused
        self.configmap_changes = DataChanges()
        self.audit = audit or AuditLog.default(syslog=self.settings.audit_syslog)
        # Every port-forward of this session; all stop when kdash exits, however it exits.
        self.forwards = Forwards()
        self._control_filter = ControlCharacterFilter()
        self._lifeline: Lifeline | None = None
        # Deployment uid -> monotonic time until which its rollout bar stays visible.
        self._tracked_rollouts: dict[str, float] = {}
        self._themes, theme_warnings = config.load_themes()
        self._startup_warnings = list(self.settings.warnings) + theme_warnings
        for data in list(self._themes.values()):
            try:
                theme_obj = Theme(name=data.name, **data.fields)
                theme_obj.to_color_system()  # colours are parsed lazily: a bad one fails here, not mid-paint
            except Exception as exc:  # noqa: BLE001 - unknown field, bad colour: the file is the user's
                self._themes.pop(data.name)
                self._startup_warnings.append(f"theme {data.name!r} skipped: {' '.join(str(exc).split())}")
                continue
            self.register_theme(theme_obj)
        wanted = theme or self.settings.theme
        if wanted not in self._themes:
            # The bundled default is only missing if a broken user file of the same name replaced it.
            fallback = config.DEFAULT_THEME if config.DEFAULT_THEME in self._themes else "textual-dark"
            self._startup_warnings.append(f"unknown theme {wanted!r}; using {fallback}")
            wanted = fallback
        self.theme = wanted
        if self.settings.keymap:
            # Unknown ids, keys that cannot be pressed and keys already in use are refused, each
            # with a warning; their actions keep their default keys.
            self.settings.keymap, refused = check_keymap(self.settings.keymap)
            self._startup_warnings.extend(refused)
            self.set_keymap(self.settings.keymap)

    # -- lifecycle -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._exit_on_signals()
        self.push_screen(DashboardScreen())
        # Objects alive after start-up live for the session: keep full GC passes (100–300 ms
        # over ~100k objects, measured) from walking them, so log floods don't stall the UI.
        # A store loading already (the early start) does that at its end, after the first tree:
        # a collection now would delay it.
        if not self.heap.loading_store:
            self.call_after_refresh(_freeze_startup_objects)
        for warning in self._startup_warnings:
            self.notify(warning, title="Settings", severity="warning", timeout=8)
        if self.start_watch:
            self.heap.install()  # no GC passes while a store loads, then freeze it (kdash/heap.py)
            self.set_interval(1.0, self.heap.tick)
            if self._early is not None:
                self._adopt(self._early)
            else:
                self.connect_and_watch(self.requested_context)
        self.set_interval(AGE_REFRESH_SECONDS, self._refresh_ages)

    def _exit_on_signals(self) -> None:
        """SIGTERM, SIGHUP and a terminal that went away end kdash within a second: cleanly
        (terminal restored, threads told) when the app can, unconditionally when it cannot."""
        if self.is_headless:
            return
        loop = asyncio.get_running_loop()

        def request_exit() -> None:
            loop.call_soon_threadsafe(self._exit_on_signal)

        driver = self._driver
        fd = getattr(driver, "fileno", None)
        try:
            self._lifeline = Lifeline(request_exit, fd if isinstance(fd, int) else None,
                                      getattr(driver, "attrs_before", None), output_fd=_output_fd(),
                                      cleanup=self.forwards.stop_all)
            self._lifeline.install()
        except (ValueError, OSError):
            self._lifeline = None  # not the main thread, or a platform without these signals

    def _exit_on_signal(self) -> None:
        self._stop_watching()
        self.exit(return_code=0)

    def connect_and_watch(self, context: str | None) -> None:
        """Connect to `context` in a thread; until it succeeds the current connection stays in use.

        The last request wins: a slower earlier one is discarded when it ends, and a request that
        has not ended CONNECT_DEADLINE + SWITCH_GRACE seconds later fails (its result discarded).
        """
        self._connect_generation += 1
        generation = self._connect_generation
        self.pending_context = context or self._context_label
        self.run_worker(lambda: self._connect(context, generation), thread=True, group="connect",
                        name="connect")
        self.set_timer(CONNECT_DEADLINE + SWITCH_GRACE, lambda: self._connect_overdue(generation))
        self._show_header()

    def _connect(self, context: str | None, generation: int) -> None:
        """Thread worker: connecting may block on the network (exec plugins, /version)."""
        try:
            connection = self.connector(self.kubeconfig, context)
            version = connection.version or connection.server_version()
        except KdashError as exc:
            self._from_thread(self._connect_failed, generation, exc)
            return
        if not self._from_thread(self._connected, generation, connection, version):
            connection.close()  # the app is gone

    def _from_thread(self, callback: Callable[..., object], *args: object) -> bool:
        """call_from_thread, or False when the app has stopped running (quit while connecting)."""
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:
            return False
        return True

    def _connect_failed(self, generation: int, exc: KdashError) -> None:
        if generation != self._connect_generation:
            return  # superseded by a newer request
        target, self.pending_context = self.pending_context, None
        if self.connection is None:
            self.notify(exc.message, title=exc.title, severity="error", timeout=15)
            self.dashboard.say(f"{exc.title}: {exc.message}")
        else:
            self.notify(f"{exc.message}; still on context {self.context_name}",
                        title=f"Cannot switch to {target}: {exc.title}", severity="error", timeout=15)
        self._show_header()

    def _connect_overdue(self, generation: int) -> None:
        if generation != self._connect_generation or self.pending_context is None:
            return
        self._connect_generation += 1  # whatever the stuck attempt returns later is discarded
        seconds = CONNECT_DEADLINE + SWITCH_GRACE
        self._connect_failed(self._connect_generation,
                             KdashError("No answer", f"{self.pending_context} did not answer within {seconds:.0f} s"))

    def _connected(self, generation: int, connection: Connection, version: str) -> None:
        if generation != self._connect_generation:
            connection.close()  # a newer request (or the deadline) superseded this one
            return
        self.pending_context = None
        switched = self.connection is not None
        self._stop_watcher()
        if self.connection is not None and self.connection is not connection:
            self.connection.close()
        self.connection = connection
        self.server_version = version
        self.denied = set()
        if switched:
            # Another cluster: its own default namespace, like kubectl with --context.
            self.namespace, self.all_namespaces, self.requested_namespace = connection.namespace, False, None
        elif self.namespace is None and not self.all_namespaces:
            self.namespace = self.requested_namespace or connection.namespace
        self._namespace_seen = False
        self._start_watcher()

    def _adopt(self, early: EarlyStart) -> None:
        """The watch started before the UI becomes this app's first connection, as `_connected`
        would have made it: same context, same namespace rule; its store keeps what it listed."""
        self._early = None
        self.connection = early.connection
        self.server_version = early.version
        self.denied = set()
        self.namespace = early.watching.namespace  # None with -A, as `_connected` leaves it
        self._namespace_seen = False
        self._use_watcher(early.watcher)
        # What changed before the app existed is in the store but was never marked: mark every
        # kind, so a first flush follows (and ends the store's loading state if it is complete).
        early.relay.attach(self.coalescer.mark)
        for kind in early.watcher.kinds:
            self.coalescer.mark(kind.name)
        self._show_header()

    def _show_header(self) -> None:
        try:
            self.dashboard.update_header()
        except (LookupError, NoMatches):
            pass  # the dashboard is not composed yet: it shows the header once it is

    def _start_watcher(self) -> None:
        assert self.connection is not None  # started only once connected
        self._use_watcher(Watcher(self.connection, None if self.all_namespaces else self.namespace,
                                  store=Store(), on_change=self.coalescer.mark, first=self._view_kinds()))

    def _view_kinds(self) -> frozenset[str]:
        """What the current view shows: listed first on a (re)start."""
        try:
            return frozenset(VIEW_KINDS[self.dashboard.view])
        except (LookupError, NoMatches):
            return frozenset()

    def _use_watcher(self, watcher: Watcher) -> None:
        """Watch with `watcher` and show its store: a new one (started here) or an adopted, running one."""
        assert self.connection is not None
        self._loading_store()
        old, self.store = self.store, watcher.store
        old.drop()  # its objects go now, even while a retiring reflector still holds the store
        self.configmap_changes.forget()
        self.watcher = watcher.start()  # (a started Watcher is left as it is)
        self.events_feed = EventFeed(self.connection, self.store, self.coalescer.mark, path=self.watcher.path)
        self.dashboard.refresh_all()
        self.check_access()

    def _stop_watcher(self) -> None:
        self._stop_events_feed()
        if self.watcher is not None:
            watcher, self.watcher = self.watcher, None
            # Reflector threads stop within about a second; don't make the UI wait for them.
            self.run_worker(watcher.stop, thread=True, group="stop")

    async def action_quit(self) -> None:
        self._stop_watching()
        self.exit()

    def _stop_watching(self) -> None:
        """On exit: tell every watch thread to stop, without waiting (they are daemons); end the forwards."""
        self.forwards.stop_all()
        self._stop_events_feed()
        if self.watcher is not None:
            watcher, self.watcher = self.watcher, None
            watcher.stop(timeout=0)

    def _stop_events_feed(self) -> None:
        if self.events_feed is not None:
            feed, self.events_feed = self.events_feed, None
            feed.stop()

    def follow_events(self, obj: Obj, kind: str) -> None:
        """Watch the events of the object the details pane shows (and only those)."""
        if self.events_feed is not None:
            self.events_feed.follow(kind, objects.namespace(obj) or None, objects.name(obj), objects.uid(obj) or None)

    def on_unmount(self) -> None:
        if self._early is not None:
            early, self._early = self._early, None
            early.abandon()  # ended before it was mounted: nothing adopted it
        if self._lifeline is not None:
            # Whatever ends the app, a worker stuck in a request must not keep the process alive.
            self._lifeline.arm()
        self.heap.uninstall()
        self._stop_watching()

    def get_driver_class(self):
        # Pasted text arrives as one Paste event, never as key presses (see PasteSafeParser).
        return paste_parser.install(super().get_driver_class())

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        # kdash's messages carry cluster text (API errors, names), so they are plain text unless a
        # caller asks for markup: read as markup, a stray "[/x]" crashes the toast, [@click=…]
        # runs an action and [link=…] makes a hyperlink.
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def get_line_filters(self):
        # Every line any widget draws passes here: cluster text never reaches the terminal raw.
        return [*super().get_line_filters(), self._control_filter]

    # -- store → screen ------------------------------------------------------------------

    def on_store_changed(self, message: StoreChanged) -> None:
        delay = self.coalescer.delay()
        if delay > 0:
            self.set_timer(delay, self._flush_changes)
        else:
            self._flush_changes()

    # Keys before store flushes (messages.InputFirst): a key arriving marks the hold, the key
    # bubbling back from the focused widget to the app runs its binding (App._on_key, after this
    # handler), and the first frame after that releases the flush that waited.

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.input_first.key()
        await super().on_event(event)

    def on_key(self, event: events.Key) -> None:
        self.call_next(self.input_first.handled)

    def post_display_hook(self) -> None:
        if self.input_first.displayed():
            self._release_held_flush()

    def _release_held_flush(self) -> None:
        self.input_first.release()
        timer, self._held_flush = self._held_flush, None
        if timer is not None:
            timer.stop()
        self.call_later(self._flush_changes)

    def _flush_changes(self) -> None:
        hold = self.input_first.hold()
        if hold > 0:
            if self._held_flush is None:
                self._held_flush = self.set_timer(hold, self._release_held_flush)
            return
        kinds = self.coalescer.take()
        if not self.is_running or not any(isinstance(s, DashboardScreen) for s in self.screen_stack):
            return  # shutting down: the screens (or their widgets) are going, the watcher is stopping
        if kinds:
            self.dashboard.refresh_data(kinds)
        if "ConfigMap" in kinds:
            self._check_configmap_changes()
        if self.heap.loading_store and self.watch_health() not in ("connecting", "starting"):
            self.call_after_refresh(self.heap.loaded)  # every kind listed: see kdash/heap.py

    def _loading_store(self) -> None:
        """No garbage collections while a store loads (see kdash/heap.py); a timeout ends that."""
        self.heap.loading()
        self.set_timer(LOAD_TIMEOUT + 1, self.heap.check_timeout)

    def _check_configmap_changes(self) -> None:
        """Watch mode: real data changes go to the dashboard (restart offers, opted-in auto-restarts)."""
        changed = self.configmap_changes.observe(self.store.list("ConfigMap"))
        if changed:
            # The restart flows (and the rollout watch they open) load with the first real change,
            # not before the first frame: a first sighting is never a change.
            from kdash.screens.flows import restart_consumers

            restart_consumers.configmaps_changed(self.dashboard, changed)

    def _refresh_ages(self) -> None:
        if self.is_running and any(isinstance(s, DashboardScreen) for s in self.screen_stack):
            self.dashboard.refresh_ages()
            self._show_header()  # "stale for Ns" counts up, and is noticed without a store change

    @property
    def dashboard(self) -> DashboardScreen:
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                return screen
        raise LookupError("no dashboard screen")

    def now(self) -> datetime:
        return self.clock()

    def watch_health(self) -> str:
        if self.watcher is None:
            return "connecting"
        # A silent path outranks all: whatever else the view says, it may be old.
        health = self.watcher.health()
        return health if self.watcher.stale() else self._namespace_gone() or health

    def _namespace_gone(self) -> str:
        """Said instead of an empty "live" view when the watched namespace is deleted (or never was)."""
        if self.all_namespaces or not self.namespace:
            return ""
        listed = self.store.state("Namespace", None)
        if listed is None or listed.state != "live":
            return ""  # not listed yet, or not allowed to: nothing known
        objs = {name: self.store.get("Namespace", None, name) for name in split_namespaces(self.namespace) if name}
        missing = [name for name, obj in objs.items() if obj is None]
        if missing:
            return f"namespace {missing[0]} was deleted" if self._namespace_seen else \
                f"namespace {missing[0]} not found"
        self._namespace_seen = True
        going = [name for name, obj in objs.items() if obj is not None and is_terminating(obj)]
        return f"namespace {going[0]} is being deleted" if going else ""

    @property
    def primary_namespace(self) -> str | None:
        """Of a subset "a,b" the first: where a write without a namespace of its own goes."""
        return primary(self.namespace)

    @property
    def namespace_label(self) -> str:
        return ALL_NAMESPACES_LABEL if self.all_namespaces else (self.namespace or "?")

    @property
    def context_name(self) -> str:
        """The context of the connection in use: every policy and the header key on it, never
        on a context asked for (a switch in progress or one that failed)."""
        return self.connection.context_name if self.connection is not None else self._context_label

    @context_name.setter
    def context_name(self, label: str) -> None:
        """Sets only the name shown while there is no connection (fixture apps have none); a
        connection's own name always wins."""
        self._context_label = label

    @property
    def switching_to(self) -> str | None:
        """The context a switch away from the current connection is connecting to, if any."""
        return self.pending_context if self.connection is not None else None

    def object_for(self, node: Node) -> Obj | None:
        if node.kind in ("group", "") or not node.name:
            return None
        obj = self.store.get(node.kind, node.namespace or None, node.name)
        return full(obj) if obj is not None else None  # details, YAML and writes need every field

    def related_for(self, obj: Obj, kind: str) -> dict[str, list[Obj]]:
        """Objects the details pane needs beside the selection, from the store's indexes."""
        uid, ns = objects.uid(obj), objects.namespace(obj)
        related: dict[str, list[Obj]] = {}
        if kind == "Deployment":
            related["ReplicaSet"] = self.store.owned_by("ReplicaSet", uid)
        elif kind == "ReplicaSet":
            related["Pod"] = self.store.owned_by("Pod", uid)
        elif kind == "Service":
            name = obj["metadata"]["name"]
            endpoints = self.store.get("Endpoints", ns, name)
            related["Endpoints"] = [endpoints] if endpoints else []
            related["Pod"] = self.store.matching("Pod", ns, obj.get("spec", {}).get("selector"))
        return related

    def track_rollout(self, deployment_uid: str, seconds: float = TRACK_ROLLOUT_SECONDS) -> None:
        """Keep showing this Deployment's rollout bar for a while after a write triggered it."""
        self._tracked_rollouts[deployment_uid] = time.monotonic() + seconds

    def tracked_rollouts(self) -> set[str]:
        now = time.monotonic()
        self._tracked_rollouts = {uid: t for uid, t in self._tracked_rollouts.items() if t > now}
        return set(self._tracked_rollouts)



def _output_fd() -> int | None:
    """The descriptor Textual draws on (stderr, else stdout), if it is a terminal."""
    for stream in (sys.__stderr__, sys.__stdout__):
        try:
            if stream is not None and stream.isatty():
                return stream.fileno()
        except (OSError, ValueError):
            continue
    return None


def _freeze_startup_objects() -> None:
    gc.collect()
    gc.freeze()


def make_app(args: argparse.Namespace, app_class: type[KdashApp] | None = None, **overrides) -> KdashApp:
    """The one factory for the CLI and tests (which may pass a subclass fed from fixtures)."""
    options: dict[str, Any] = dict(
        kubeconfig=getattr(args, "kubeconfig", None),
        context=getattr(args, "context", None),
        namespace=getattr(args, "namespace", None),
        all_namespaces=getattr(args, "all_namespaces", False),
        readonly=getattr(args, "readonly", False),
        theme=getattr(args, "theme", None),
    )
    options.update(overrides)
    return (app_class or KdashApp)(**options)


def run_app(args: argparse.Namespace, early: EarlyStart | None = None) -> int:
    """The dashboard on the watch `early` started (kdash.cli starts it before importing this module)."""
    if early is None:
        from kdash.boot import start_watching

        # Fails before the TUI starts when the kubeconfig or context is unusable: a clear message
        # on the terminal beats an empty dashboard.
        early = start_watching(args)
    app = make_app(args, early=early)
    app.run()
    return app.return_code or 0
