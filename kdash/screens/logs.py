"""Logs of a pod, or of every pod of a ReplicaSet, Deployment or Service, following rollouts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from kdash.actions.registry import ACTIONS
from kdash.logs.buffer import DEFAULT_CAPACITY, LineQueue, RingBuffer, marker
from kdash.logs.follower import (
    ALL_CONTAINERS,
    FOLLOWABLE_KINDS,
    Follower,
    FollowerStatus,
    LogSource,
    PodIndex,
    StreamFactory,
)
from kdash.logs.stream import LogOptions, stream_factory
from kdash.logs.text import TextFilter, default_save_path, save_lines
from kdash.screens.modals import PickScreen, PromptScreen
from kdash.widgets.footer import Footer
from kdash.widgets.log_view import LogView

DRAIN_INTERVAL = 0.05  # the UI takes the threads' lines in batches, 20 times a second
SINCE_CHOICES: tuple[tuple[int | None, str], ...] = (
    (None, "all"), (60, "1m"), (300, "5m"), (900, "15m"), (3600, "1h"))
ALL_CHOICE = "*"
# The keys the footer has no room for (it shows the others).
HELP_LINE = ("n/N next/prev match · f !text hides lines · F clear filter · L tail lines · "
             "P previous container · y copy line · ↑↓ PgUp PgDn g top · G/End follow")

def log_bindings() -> list[BindingType]:
    """The logs screen's keys: the registry's "logs" group (kdash/actions/registry.py)."""
    actions = [a for a in ACTIONS if a.group == "logs"]
    return [Binding(a.keys, a.id, a.description, show=a.footer, id=a.id, tooltip=a.help)
            for a in actions]


def since_label(seconds: int | None) -> str:
    return next((label for value, label in SINCE_CHOICES if value == seconds), f"{seconds}s")


class LogsScreen(Screen[None]):
    """Follows `source`'s pods; reads the app's store, connection and settings unless given.

    The follower is re-synced whenever the store's version moves (checked on the drain timer),
    so pods of a rolling update attach and detach without any wiring in the app.
    """

    BINDINGS = log_bindings()
    DEFAULT_CSS = """
    LogsScreen { layout: vertical; }
    LogsScreen #logs-title { height: 1; background: $panel; padding: 0 1; }
    LogsScreen LogView { height: 1fr; }
    LogsScreen #logs-help { height: 1; padding: 0 1; background: $surface; color: $text-muted; }
    """

    def __init__(
        self,
        source: LogSource,
        *,
        store: PodIndex | None = None,
        factory: StreamFactory | None = None,
        buffer_lines: int | None = None,
        options: LogOptions | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.options = options or LogOptions()
        self.container: str | None = ALL_CONTAINERS
        self._store = store
        self._factory = factory
        self._buffer_lines = buffer_lines
        self._clock = clock or datetime.now
        self._synced: tuple[int, ...] | None = None  # (id(store), versions of pod kinds) synced
        self._title = ""
        self.follower: Follower | None = None

    # -- setup ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        settings = getattr(self.app, "settings", None)  # a plain App in tests has none
        capacity = self._buffer_lines or int(getattr(settings, "log_buffer_lines", DEFAULT_CAPACITY))
        self.buffer = RingBuffer(capacity)
        self.queue = LineQueue(capacity)
        yield Static(id="logs-title")
        yield LogView(self.buffer, id="log-view")
        yield Static(HELP_LINE, id="logs-help")
        yield Footer()

    def on_mount(self) -> None:
        factory = self._factory or self._app_stream_factory()
        if factory is None:
            self.queue.put([marker("not connected to a cluster")])
        else:
            self.follower = Follower(self.source, factory, self.queue.put, self.options, self.container)
        self.view.configure(prefix=self.source.kind != "Pod")
        self.view.focus()
        self.set_interval(DRAIN_INTERVAL, self.tick)
        self.tick()

    def _app_stream_factory(self) -> StreamFactory | None:
        connection = getattr(self.app, "connection", None)
        if connection is None:
            return None
        return stream_factory(connection.api_client)

    def on_unmount(self) -> None:
        if self.follower is not None:
            self.follower.stop()

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def store(self) -> PodIndex | None:
        return self._store if self._store is not None else getattr(self.app, "store", None)

    # -- the timer: store → follower, queue → buffer → view ----------------------------------

    def tick(self) -> None:
        self._sync()
        lines, dropped = self.queue.drain()
        if dropped:
            self.buffer.add_dropped(dropped)
        if lines:
            self.view.lines_added(self.buffer.extend(lines))
        self._update_title()

    def _sync(self) -> None:
        store = self.store
        if self.follower is None or store is None:
            return
        # Only kinds that decide which pods are followed matter (Events change all the time);
        # the app replaces its Store on reconnect, so the store's identity is part of it.
        versions = store.versions()
        version = (id(store), *(versions.get(kind, 0) for kind in FOLLOWABLE_KINDS))
        if version == self._synced:
            return
        self._synced = version
        status = self.follower.sync(store)
        if status.multi_container and not self.view.prefix_container:
            self.view.configure(prefix=True, prefix_container=True)

    def _update_title(self) -> None:
        text = self._title_text()
        if text.plain != self._title:
            self._title = text.plain
            self.query_one("#logs-title", Static).update(text)

    def _title_text(self) -> Text:
        status = self.follower.status if self.follower else FollowerStatus()
        view = self.view
        text = Text.assemble(("logs ", "bold"), (self.source.label, "bold"), f" · ns {self.source.namespace} · ")
        text.append("following" if view.follow else " PAUSED ", style="bold" if view.follow else "bold reverse")
        if not status.found:
            text.append(" · not found", style="bold red")
        text.append(f" · pods {status.attached}/{status.pods}")
        if status.pending:
            text.append(f" ({status.pending} pending)")
        text.append(f" · streams {self.follower.live_streams if self.follower else 0}")
        if status.over_limit:
            text.append(f" · {status.over_limit} not followed", style="bold yellow")
        text.append(f" · {len(self.buffer)} lines")
        if self.buffer.dropped:
            text.append(f" · {self.buffer.dropped} dropped", style="bold yellow")
        text.append(" · " + " · ".join(self._option_words(view)), style="dim")
        return text

    def _option_words(self, view: LogView) -> list[str]:
        tail = self.options.tail_lines
        words = [f"tail {'all' if tail is None else tail}", f"since {since_label(self.options.since_seconds)}"]
        if self.options.previous:
            words.append("previous")
        if self.container is not ALL_CONTAINERS:
            words.append(f"container {self.container}")
        if view.line_filter is not None:
            words.append(f"filter {view.line_filter}")
        if view.search:
            words.append(f"search {view.search}")
        return words

    # -- restarting ---------------------------------------------------------------------------

    def restart(self, **changes) -> None:
        """New stream options (tail, since, previous) or container: read everything again."""
        if "container" in changes:
            self.container = changes.pop("container")
        self.options = replace(self.options, **changes)
        if self.follower is not None:
            self.follower.restart(self.options, self.container)
        # Nothing from the old streams reaches the queue after restart(): clearing is exact.
        self.queue.clear()
        self.buffer.clear()
        self.view.set_follow(True)
        self.view.rebuild()
        self._synced = None
        self.tick()

    # -- actions ------------------------------------------------------------------------------

    def action_logs_back(self) -> None:
        self.app.pop_screen()

    def action_logs_pause(self) -> None:
        self.view.set_follow(not self.view.follow)
        self._update_title()

    def action_logs_bottom(self) -> None:
        self.view.set_follow(True)
        self._update_title()

    def action_logs_timestamps(self) -> None:
        # Lines always carry their timestamp (resuming needs it): showing them is display only.
        self.view.configure(timestamps=not self.view.timestamps)

    def action_logs_wrap(self) -> None:
        self.view.configure(wrap=not self.view.wrap)

    def action_logs_since(self) -> None:
        values = [value for value, _ in SINCE_CHOICES]
        current = values.index(self.options.since_seconds) if self.options.since_seconds in values else 0
        self.restart(since_seconds=values[(current + 1) % len(values)])

    def action_logs_previous(self) -> None:
        self.restart(previous=not self.options.previous)

    def action_logs_tail(self) -> None:
        current = self.options.tail_lines
        self.app.push_screen(PromptScreen("Tail lines", "all" if current is None else str(current),
                                          hint="lines to read back per container, or all"),
                             self._set_tail)

    def _set_tail(self, value: str | None) -> None:
        if value is None:
            return
        value = value.strip().lower()
        if value in ("", "all", "-1"):
            self.restart(tail_lines=None)
        elif value.isdigit():
            self.restart(tail_lines=int(value))
        else:
            self.app.notify(f"{value!r} is not a number of lines", title="Tail", severity="error")

    def action_logs_container(self) -> None:
        names = self.follower.status.containers if self.follower else ()
        choices = [(ALL_CHOICE, "(all containers)")] + [(n, n) for n in names]
        current = ALL_CHOICE if self.container is ALL_CONTAINERS else self.container
        self.app.push_screen(PickScreen("Container", choices, current), self._set_container)

    def _set_container(self, value: str | None) -> None:
        if value is None:
            return
        container = ALL_CONTAINERS if value == ALL_CHOICE else value
        if container != self.container:
            self.restart(container=container)

    def action_logs_search(self) -> None:
        self.app.push_screen(PromptScreen("Search", self.view.search,
                                          hint="text (case-insensitive unless it has capitals); "
                                               "n / N: next / previous"),
                             self._set_search)

    def _set_search(self, value: str | None) -> None:
        if value is None:
            return
        view = self.view
        following = view.follow
        view.configure(search=value.strip())
        if not view.search:
            return
        # While following, the newest match is the interesting one: look backwards first.
        if view.find(forward=not following):
            self.app.notify(f"{view.count_matches()} matching lines", timeout=2)
        else:
            self.app.notify(f"{view.search!r} not found", severity="warning", timeout=3)
        self._update_title()

    def action_logs_next(self) -> None:
        self._find(True)

    def action_logs_previous_match(self) -> None:
        self._find(False)

    def _find(self, forward: bool) -> None:
        if not self.view.search:
            self.action_logs_search()
        elif not self.view.find(forward):
            self.app.notify(f"{self.view.search!r} not found", severity="warning", timeout=3)
        self._update_title()

    def action_logs_filter(self) -> None:
        current = self.view.line_filter
        self.app.push_screen(PromptScreen("Filter", str(current) if current else "",
                                          hint="text keeps matching lines · !text hides them · "
                                               "empty clears"),
                             self._set_filter)

    def _set_filter(self, value: str | None) -> None:
        if value is not None:
            self.view.configure(line_filter=TextFilter.parse(value))
            self._update_title()

    def action_logs_clear_filter(self) -> None:
        self._set_filter("")

    def action_logs_save(self) -> None:
        path = default_save_path(self.source.name, self._clock())
        self.app.push_screen(PromptScreen("Save logs to", path, hint="the shown lines, as displayed"),
                             self._save)

    def _save(self, path: str | None) -> None:
        if not path or not path.strip():
            return
        try:
            count = save_lines(path.strip(), self.view.plain_lines())
        except OSError as exc:
            self.app.notify(str(exc), title="Save failed", severity="error")
            return
        self.app.notify(f"{count} lines saved to {path.strip()}", title="Saved")

    def action_logs_copy(self) -> None:
        line = self.view.current_line()
        if line is None:
            self.app.notify("No line to copy", severity="warning")
            return
        self.app.copy_to_clipboard(self.view.plain(line))
        self.app.notify("Line copied to the clipboard", timeout=2)
