"""The StatefulSet and DaemonSet views of the dashboard: their kinds, counts, titles and builders."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kdash.render.daemonsets import build_daemonset_tree
from kdash.render.statefulsets import build_statefulset_tree
from kdash.render.tree import Node, NodeMemo

STATEFULSETS = "statefulsets"
DAEMONSETS = "daemonsets"
VIEWS = (STATEFULSETS, DAEMONSETS)
STATUS_COUNTS = {
    STATEFULSETS: (("StatefulSet", "sts"), ("Pod", "pods"), ("PersistentVolumeClaim", "pvc")),
    DAEMONSETS: (("DaemonSet", "ds"), ("Node", "nodes"), ("Pod", "pods")),
}
VIEW_TITLES = {STATEFULSETS: "StatefulSets", DAEMONSETS: "DaemonSets"}
VIEW_KINDS = {
    STATEFULSETS: {"StatefulSet", "Pod", "PersistentVolumeClaim", "ControllerRevision"},
    DAEMONSETS: {"DaemonSet", "Pod", "Node", "ControllerRevision"},
}


# Per store (a context switch makes a new one) and view: the nodes of unchanged sets are reused.
_MEMOS: weakref.WeakKeyDictionary[Any, dict[str, NodeMemo]] = weakref.WeakKeyDictionary()


def _memo(store: Any, view: str) -> NodeMemo:
    return _MEMOS.setdefault(store, {}).setdefault(view, NodeMemo())


def _statefulsets(store: Any, now: datetime, fresh: bool = False) -> list[Node]:
    return build_statefulset_tree(store.list("StatefulSet"), store.list("Pod"), store.list("PersistentVolumeClaim"),
                                  store.list("ControllerRevision"), now,
                                  cache=None if fresh else _memo(store, STATEFULSETS))


def _daemonsets(store: Any, now: datetime, fresh: bool = False) -> list[Node]:
    # Nodes the user may not list: the tree says that a node without its pod cannot be shown.
    nodes_forbidden = any(kind == "Node" and sync.state == "forbidden" for (kind, _), sync in store.states().items())
    return build_daemonset_tree(store.list("DaemonSet"), store.list("Pod"),
                                None if nodes_forbidden else store.list("Node"), store.list("ControllerRevision"), now,
                                cache=None if fresh else _memo(store, DAEMONSETS))


# (store, now, fresh): `fresh` builds from the objects alone (no memo), what the debug self-check compares with.
BUILDERS: dict[str, Callable[[Any, datetime, bool], list[Node]]] = {
    STATEFULSETS: _statefulsets, DAEMONSETS: _daemonsets}


class ControllerViews:
    """The dashboard's keys for these views (mixed into DashboardScreen, which has `_set_view`)."""

    def _set_view(self, view: str) -> None:
        raise NotImplementedError

    def action_view_statefulsets(self) -> None:
        self._set_view(STATEFULSETS)

    def action_view_daemonsets(self) -> None:
        self._set_view(DAEMONSETS)
