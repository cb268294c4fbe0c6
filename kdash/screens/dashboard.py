"""The main screen: header, the live resource tree, the details pane, status line and footer."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Static, Tree

from kdash.actions.registry import ACTIONS, Action
from kdash.core.labels import Selector, parse_selector
from kdash.core.rollout import RolloutIndex
from kdash.render import details as render_details
from kdash.render import services as render_services
from kdash.render import tree as render_tree
from kdash.render import workloads as render_workloads
from kdash.render.configmaps import build_configmap_tree
from kdash.render.hpa import annotate as with_hpas
from kdash.render.hpa import hpa_index
from kdash.screens import controller_views
from kdash.screens.exec_forward import ExecForward
from kdash.screens.notices import access_notices, access_problems
from kdash.widgets.footer import Footer
from kdash.widgets.resource_tree import ResourceTree
from kdash.widgets.rollout_progress import RolloutProgress
from kdash.widgets.status import DetailsPane, HeaderLine
from kdash.widgets.tree_selfcheck import RECENT_CHANGES, SELFCHECK_SECONDS, TreeSelfCheck

DETAILS_MIN_HEIGHT = 32
# Under churn the details pane (describe + the object's events) follows at most this often;
# moving the cursor updates it at once.
DETAILS_INTERVAL = 0.5
WORKLOADS = "workloads"
SERVICES = "services"
CONFIGMAPS = "configmaps"
VIEWS = (WORKLOADS, SERVICES, CONFIGMAPS, *controller_views.VIEWS)
# What the status line counts per view: (kind, word).
STATUS_COUNTS = {
    WORKLOADS: (("Deployment", "deploy"), ("ReplicaSet", "rs"), ("Pod", "pods")),
    SERVICES: (("Service", "svc"), ("Pod", "pods")),
    CONFIGMAPS: (("ConfigMap", "configmaps"), ("Deployment", "deploy")),
    **controller_views.STATUS_COUNTS,
}
VIEW_TITLES = {WORKLOADS: "Deployments", SERVICES: "Services", CONFIGMAPS: "ConfigMaps",
               **controller_views.VIEW_TITLES}
# Kinds whose change affects each view; other kinds only touch the details pane / header.
VIEW_KINDS = {
    WORKLOADS: {"Deployment", "ReplicaSet", "Pod", "HorizontalPodAutoscaler"},
    SERVICES: {"Service", "Endpoints", "Pod"},
    CONFIGMAPS: {"ConfigMap", "Deployment"},
    **controller_views.VIEW_KINDS,
}


def bindings(include: Callable[[Action], bool]) -> list[BindingType]:
    """Bindings for the registry actions `include` picks; app-group actions run on the App."""
    return [
        Binding(a.keys, f"app.{a.id}" if a.group == "app" else a.id, a.description, show=a.footer,
                id=a.id, tooltip=a.help)
        for a in ACTIONS if include(a)
    ]


class DashboardScreen(controller_views.ControllerViews, ExecForward, Screen[None]):
    # Help is bound here too so it leads the footer; quit and theme live on the App only.
    BINDINGS = bindings(lambda a: a.group not in ("app", "logs", "watch") or a.id == "help")
    DEFAULT_CSS = """
    DashboardScreen { layout: vertical; }
    DashboardScreen ResourceTree { height: 1fr; border: none; }
    DashboardScreen #details-scroll { height: 40%; border-top: solid $panel; }
    DashboardScreen #details-scroll.hidden { display: none; }
    DashboardScreen #status { height: 1; padding: 0 1; background: $surface; color: $text-muted; }
    DashboardScreen .stale { border-top: dashed $warning; border-title-color: $warning; text-opacity: 55%; }
    """

    _stale_title: str | None = None  # what the panes' top border says while stale

    def __init__(self) -> None:
        super().__init__()
        self.view = WORKLOADS
        self.name_filter = ""
        self.label_filter = ""
        self._selector: Selector | None = None
        self._view_nodes: list[render_tree.Node] = []
        # Nodes of unchanged objects are reused between rebuilds (see RenderCache).
        self._tree_cache = render_workloads.RenderCache()
        # What changed in the store since the last workload build (kdash.kube.store.ChangeFeed).
        self._feed = None
        self._feed_store = None
        self._rollouts = RolloutIndex()
        # Changes that arrived while another full screen (logs, YAML) hid this one; None = all.
        self._stale: set[str] | None = set()
        self._status_text = ""
        self._details_at = 0.0
        self._details_queued = False
        self._details_timer: Timer | None = None
        self._message = ""
        self._composed_ready = False
        # What the tree was last built from (see _built_from); the debug self-check compares then.
        self._built: tuple | None = None
        # Per view: (key of the selected object, its line) when the user left that view.
        self._selections: dict[str, tuple[str | None, int]] = {}
        self.selfcheck: TreeSelfCheck | None = None

    def compose(self) -> ComposeResult:
        yield HeaderLine(id="header")
        yield RolloutProgress(id="rollouts", classes="empty")
        yield ResourceTree(self.app.style_node, clock=self.app.now, id="tree")
        with VerticalScroll(id="details-scroll"):
            yield DetailsPane(id="details")
        yield Static(id="status")
        yield Footer(compact=True)

    @property
    def tree(self) -> ResourceTree:  # type: ignore[override]  # shadows DOMNode.tree (a rich debug view) on purpose
        return self.query_one(ResourceTree)

    def on_mount(self) -> None:
        self._composed_ready = True
        if self.app.size.height < DETAILS_MIN_HEIGHT:
            # On a small terminal the tree is the point; `d` brings the details back.
            self.query_one("#details-scroll").add_class("hidden")
        self.tree.focus()
        if self.app.settings.debug_selfcheck:
            self.selfcheck = TreeSelfCheck(self.tree, self.view_nodes, lambda: self._built == self._built_from(),
                                           lambda: self.app.store.recent_changes(), lambda: self.view)
            self.set_interval(SELFCHECK_SECONDS, self.selfcheck.check)
        self.refresh_all()

    # -- data → widgets ------------------------------------------------------------------

    def refresh_all(self) -> None:
        self.refresh_data(None)

    def refresh_data(self, kinds: set[str] | None) -> None:
        """Re-render what the changed kinds affect (None: everything)."""
        if not self._composed_ready:
            return  # on_mount renders everything once the widgets exist
        if self._covered():
            # Nobody sees us: catch up once when the covering screen closes, not 20 times a second
            # (by an identity diff then: an undrained feed would only hold replaced objects alive).
            self._stale = None if kinds is None or self._stale is None else self._stale | kinds
            self._close_feed()
            return
        if kinds is None:
            self._reset_tree_cache()
            self._rollouts = RolloutIndex()
            if self.selfcheck is not None:
                self.app.store.record_changes(RECENT_CHANGES)  # (a new store after a connect)
        if kinds is None or kinds & VIEW_KINDS[self.view]:
            self._rebuild_tree()
        if kinds is None or kinds & {"Deployment", "ReplicaSet"}:
            self._show_rollouts()
        if kinds is None:
            self._show_details()
        else:
            self._show_details_soon()
        self.update_header()

    def refresh_ages(self) -> None:
        """Ages move with time alone: the tree paints them (ResourceTree's age tick); the
        details pane is re-rendered here."""
        if self._composed_ready and not self._covered():
            self._show_details()

    def _covered(self) -> bool:
        """Another full screen is on top (a modal leaves us visible: keep updating then)."""
        try:
            top = self.app.screen
        except Exception:  # no screen stack yet / any more
            return False
        return top is not self and not isinstance(top, ModalScreen)

    def on_screen_resume(self) -> None:
        stale, self._stale = self._stale, set()
        if stale is None or stale:
            self.refresh_data(stale)

    def _rebuild_tree(self) -> None:
        self._built = self._built_from()
        nodes = self.view_nodes(fresh=False)
        self._view_nodes = nodes
        tree = self.tree
        tree.lost = None
        tree.patch(nodes)
        if tree.lost is not None:
            self._say_lost(*tree.lost)
        self._update_status()

    def _say_lost(self, gone: str, now: str | None) -> None:
        """Writes act on the selection: when it moves to another object by itself, say so."""
        # With a filter on, it may only be filtered out.
        where = "is not shown" if self.name_filter or self.label_filter else "is gone"
        selected = render_tree.key_text(now) if now else "nothing"
        self._message = f"{render_tree.key_text(gone)} {where}; selected: {selected}"

    def _built_from(self) -> tuple:
        """The store state and view settings a build reflects: while they are what the tree was
        last built from, the tree must equal a fresh build (before that a flush is due)."""
        store = self.app.store
        versions = store.versions()
        return (id(store), self.view, self.name_filter, self.label_filter, self._covered(), tuple(self._forbidden()),
                tuple(versions.get(kind, 0) for kind in sorted(VIEW_KINDS[self.view])))

    def view_nodes(self, *, fresh: bool = True) -> list[render_tree.Node]:
        """The current view's nodes, filtered; `fresh` builds them from the store's objects
        alone (no feed, no cache): what the incremental build must equal."""
        store = self.app.store
        now = self.app.now()
        if self.view == WORKLOADS:
            if fresh:
                nodes = render_workloads.build_workload_tree(
                    store.list("Deployment"), store.list("ReplicaSet"), store.list("Pod"), now)
            else:
                nodes = self._workload_nodes(store, now)
            nodes = with_hpas(nodes, hpa_index(store.list("HorizontalPodAutoscaler")))
        elif self.view in controller_views.BUILDERS:
            nodes = controller_views.BUILDERS[self.view](store, now, fresh)
        elif self.view == SERVICES:
            nodes = render_services.build_service_tree(
                store.list("Service"), store.list("Pod"), store.list("Endpoints"), now)
        else:
            nodes = build_configmap_tree(store.list("ConfigMap"), store.list("Deployment"), now)
        if self.name_filter or self._selector is not None:
            nodes = render_tree.filter_tree(nodes, name_substring=self.name_filter or None,
                                            label_selector=self._selector)
            if not nodes:
                nodes = [render_tree.notice_node("no-matches", f"no matches for {self._filter_text()}", "none")]
        return self._forbidden_notices() + nodes

    def _filter_text(self) -> str:
        return f'"{self.name_filter}"' if self.name_filter else f"-l {self.label_filter}"

    def _forbidden(self) -> list[tuple[str, str | None, str]]:
        """(kind, namespace, state) of this view's kinds the user may not list or the server does not serve."""
        return access_problems(self.app.store.states(), VIEW_KINDS[self.view])

    def _forbidden_notices(self) -> list[render_tree.Node]:
        return access_notices(self._forbidden())

    def _workload_nodes(self, store, now) -> list[render_tree.Node]:
        """The workload tree from what changed since the last build (a feed of the store)."""
        if self._feed_store is not store:
            self._reset_tree_cache()  # another store (context switch): nothing carries over
        if self._feed is None:
            # A new feed's first drain hands out full lists: the cache diffs them by identity.
            self._feed, self._feed_store = store.feed(("Deployment", "ReplicaSet", "Pod")), store
        return render_workloads.build_workload_tree_from(store.drain(self._feed), now, self._tree_cache)

    def _close_feed(self) -> None:
        if self._feed is not None:
            self._feed_store.close_feed(self._feed)
            self._feed = None

    def _reset_tree_cache(self) -> None:
        self._close_feed()
        self._feed_store = None
        self._tree_cache.clear()

    def _show_rollouts(self) -> None:
        """Bars for rollouts that are running or failed, and for ones kdash just triggered."""
        app = self.app
        rollouts = self._rollouts
        rollouts.update(app.store.list("Deployment"), app.store.list("ReplicaSet"))
        tracked = app.tracked_rollouts() - rollouts.active.keys()
        shown = list(rollouts.active.values()) + [rollouts.statuses[uid] for uid in tracked
                                                  if uid in rollouts.statuses]
        self.query_one(RolloutProgress).show(shown, app.health_style)

    def _update_status(self) -> None:
        parts = []
        if self.name_filter:
            parts.append(f"filter: {self.name_filter}")
        if self.label_filter:
            parts.append(f"labels: {self.label_filter}")
        parts.append(self._totals())
        if self._message:
            parts.append(self._message)
        text = "  │  ".join(parts)
        if text != self._status_text:
            self._status_text = text
            self.query_one("#status", Static).update(Text(text), layout=False)  # one line, always

    def _totals(self) -> str:
        """Objects per kind of the view; with a filter on, "shown/total"."""
        store = self.app.store
        filtered = bool(self.name_filter or self.label_filter)
        shown: dict[str, set[tuple[str, str]]] = {}
        if filtered:
            for _, node in render_tree.flatten(self._view_nodes):
                shown.setdefault(node.kind, set()).add((node.namespace, node.name))
        words = []
        for kind, word in STATUS_COUNTS[self.view]:
            total = store.count(kind)
            words.append(f"{len(shown.get(kind, ()))}/{total} {word}" if filtered else f"{total} {word}")
        return "  ".join(words)

    def update_header(self) -> None:
        app = self.app
        health = app.watch_health()
        style = app.health_style("ok" if health == "live" else "warning")
        self._mark_stale(health)
        self.query_one(HeaderLine).show(
            app.context_name, app.namespace_label, app.server_version, health,
            VIEW_TITLES[self.view], app.readonly, style, pending=app.switching_to or "")

    def _mark_stale(self, health: str) -> None:
        """While the path is silent (or the watches reconnect) the panes keep the last known state,
        dimmed, and say so on their top border."""
        stale = health.startswith(("stale", "reconnecting"))
        title = f"{health}: last known state" if stale else None
        if title == self._stale_title:
            return  # setting a border title repaints the pane, even an unchanged one
        self._stale_title = title
        for pane in (self.tree, self.query_one("#details-scroll")):
            pane.set_class(stale, "stale")
            pane.border_title = Text(title) if title else None  # plain text, never markup

    def _show_details_soon(self) -> None:
        """The details of a store change: now if the pane is idle, else once it is due."""
        if self._details_timer is not None:
            return  # already due
        wait = self._details_at + DETAILS_INTERVAL - time.monotonic()
        if wait <= 0:
            self._show_details()
        else:
            self._details_timer = self.set_timer(wait, self._show_details)

    def _show_details(self) -> None:
        if self._details_timer is not None:
            self._details_timer.stop()
            self._details_timer = None
        self._details_at = time.monotonic()
        pane = self.query_one("#details-scroll")
        if pane.has_class("hidden"):
            return
        node = self.tree.selected
        details = self.query_one(DetailsPane)
        app = self.app
        obj = app.object_for(node) if node else None
        if node is None or obj is None:
            details.show("Nothing selected" if node is None else node.label, [], [], app.health_style("muted"))
            return
        app.follow_events(obj, node.kind)
        now = app.now()
        sections = render_details.describe(obj, app.related_for(obj, node.kind), now, kind=node.kind)
        events = [
            (e.type, e.reason, e.age, e.message)
            for e in render_details.events_for(obj, app.store.list("Event"), now, kind=node.kind)
        ]
        details.show(f"{node.kind} {node.namespace}/{node.name}",
                     [(s.title, list(s.rows)) for s in sections], events, app.health_style("muted"))

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        # The moved cursor paints first; the details (describe + events, and a relayout of the
        # pane) follow right after, once however many keys are queued have been handled.
        if not self._details_queued:
            self._details_queued = True
            self.call_after_refresh(self._show_queued_details)

    def _show_queued_details(self) -> None:
        self._details_queued = False
        self._show_details()

    def say(self, message: str) -> None:
        self._message = message
        self._update_status()

    # -- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Greyed out (None) when an RBAC pre-check said the user may not do it.
        return None if action in self.app.denied else True

    def action_view_workloads(self) -> None:
        self._set_view(WORKLOADS)

    def action_view_services(self) -> None:
        self._set_view(SERVICES)

    def action_view_configmaps(self) -> None:
        self._set_view(CONFIGMAPS)

    def action_toggle_view(self) -> None:
        self._set_view(VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)])

    def _set_view(self, view: str) -> None:
        if view == self.view:
            return
        tree = self.tree
        selected = tree.selected
        self._selections[self.view] = (selected.key if selected else None, tree.cursor_line)
        self.view = view
        # The two trees share no keys, so start the widget afresh rather than diffing.
        tree.reset_nodes()
        self._reset_tree_cache()
        self.refresh_all()
        self._restore_selection(self._selections.get(view, (None, 0)))

    def _restore_selection(self, remembered: tuple[str | None, int]) -> None:
        """Select the object selected when this view was left; if it is gone, the nearest line
        (as when it goes while shown), and say so."""
        key, line = remembered
        tree = self.tree
        if key is not None and tree.select_key(key):
            return
        node = tree.select_line(line)
        if key is not None:
            self._say_lost(key, node.key if node else None)
            self._update_status()

    def action_filter(self) -> None:
        from kdash.screens.modals import PromptScreen

        current = self.name_filter or (f"-l {self.label_filter}" if self.label_filter else "")
        self.app.push_screen(
            PromptScreen("Filter", current, hint="name substring, or -l app=web,tier!=db",
                         placeholder="name or -l selector"),
            self._apply_filter,
        )

    def _apply_filter(self, text: str | None) -> None:
        if text is None:
            return
        text = text.strip()
        if text.startswith("-l"):
            selector_text = text[2:].strip()
            try:
                selector = parse_selector(selector_text)
            except ValueError as exc:
                self.app.notify(str(exc), title="Bad label selector", severity="error")
                return
            self.name_filter, self.label_filter, self._selector = "", selector_text, selector
        else:
            self.name_filter, self.label_filter, self._selector = text, "", None
        self._rebuild_tree()

    def action_clear_filter(self) -> None:
        if self.name_filter or self.label_filter:
            self.name_filter, self.label_filter, self._selector = "", "", None
            self._rebuild_tree()

    def action_toggle_details(self) -> None:
        self.query_one("#details-scroll").toggle_class("hidden")
        self._show_details()

    def action_expand_all(self) -> None:
        self.tree.root.expand_all()

    def action_collapse_all(self) -> None:
        for child in self.tree.root.children:
            child.collapse_all()

    def action_yaml(self) -> None:
        node = self.tree.selected
        obj = self.app.object_for(node) if node else None
        if node is None or obj is None:
            self.app.notify("Select an object first", severity="warning")
            return
        from kdash.screens.yaml_view import YamlScreen

        self.app.push_screen(YamlScreen(f"{node.kind} {node.namespace}/{node.name}", obj,
                                        self.app.current_theme.dark))

    def action_namespace(self) -> None:
        self.app.pick_namespace()

    def action_all_namespaces(self) -> None:
        self.app.switch_namespace(None)

    def action_context(self) -> None:
        self.app.pick_context()

    def action_logs(self) -> None:
        from kdash.logs import FOLLOWABLE_KINDS, LogSource
        from kdash.screens.logs import LogsScreen

        node = self.tree.selected
        if node is None or node.kind not in FOLLOWABLE_KINDS:
            self.app.notify("Logs: select a Pod, ReplicaSet, Deployment or Service", severity="warning")
            return
        self.app.push_screen(LogsScreen(LogSource(node.kind, node.namespace, node.name)))

