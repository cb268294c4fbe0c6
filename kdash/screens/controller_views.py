"""The dashboard's views past the first three (StatefulSets, DaemonSets, Jobs, Ingresses)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kdash.render.daemonsets import build_daemonset_tree
from kdash.render.hpa import annotate, hpa_index
from kdash.render.ingresses import build_ingress_tree
from kdash.render.jobs import build_jobs_tree
from kdash.render.statefulsets import build_statefulset_tree
from kdash.render.tree import Node, NodeMemo

STATEFULSETS = "statefulsets"
DAEMONSETS = "daemonsets"
JOBS = "jobs"
INGRESSES = "ingresses"
VIEWS = (STATEFULSETS, DAEMONSETS, JOBS, INGRESSES)
STATUS_COUNTS = {
    STATEFULSETS: (("StatefulSet", "sts"), ("Pod", "pods"), ("PersistentVolumeClaim", "pvc")),
    DAEMONSETS: (("DaemonSet", "ds"), ("Node", "nodes"), ("Pod", "pods")),
    JOBS: (("CronJob", "cj"), ("Job", "jobs"), ("Pod", "pods")),
    INGRESSES: (("Ingress", "ing"), ("Service", "svc"), ("Pod", "pods")),
}
VIEW_TITLES = {STATEFULSETS: "StatefulSets", DAEMONSETS: "DaemonSets", JOBS: "Jobs", INGRESSES: "Ingresses"}
VIEW_KINDS = {
    STATEFULSETS: {"StatefulSet", "Pod", "PersistentVolumeClaim", "ControllerRevision", "HorizontalPodAutoscaler"},
    DAEMONSETS: {"DaemonSet", "Pod", "Node", "ControllerRevision"},
    JOBS: {"CronJob", "Job", "Pod"},
    INGRESSES: {"Ingress", "Service", "Endpoints", "Pod"},
}


# Per store (a context switch makes a new one) and view: the nodes of unchanged sets are reused.
_MEMOS: weakref.WeakKeyDictionary[Any, dict[str, NodeMemo]] = weakref.WeakKeyDictionary()


def _memo(store: Any, view: str) -> NodeMemo:
    return _MEMOS.setdefault(store, {}).setdefault(view, NodeMemo())


def _statefulsets(store: Any, now: datetime, fresh: bool = False) -> list[Node]:
    nodes = build_statefulset_tree(store.list("StatefulSet"), store.list("Pod"), store.list("PersistentVolumeClaim"),
                                   store.list("ControllerRevision"), now,
                                   cache=None if fresh else _memo(store, STATEFULSETS))
    return annotate(nodes, hpa_index(store.list("HorizontalPodAutoscaler")), kinds=frozenset({"StatefulSet"}))


def _daemonsets(store: Any, now: datetime, fresh: bool = False) -> list[Node]:
    # Nodes the user may not list: the tree says that a node without its pod cannot be shown.
    nodes_forbidden = any(kind == "Node" and sync.state == "forbidden" for (kind, _), sync in store.states().items())
    return build_daemonset_tree(store.list("DaemonSet"), store.list("Pod"),
                                None if nodes_forbidden else store.list("Node"), store.list("ControllerRevision"), now,
                                cache=None if fresh else _memo(store, DAEMONSETS))


def _jobs(store: Any, now: datetime, fresh: bool = False) -> list[Node]:
    return build_jobs_tree(store.list("CronJob"), store.list("Job"), store.list("Pod"), now)


def _ingresses(store: Any, now: datetime, fresh: bool = False) -> list[Node]:
    return build_ingress_tree(store.list("Ingress"), store.list("Service"), store.list("Pod"), store.list("Endpoints"),
                              now)


# (store, now, fresh): `fresh` builds from the objects alone (no memo), what the debug self-check compares with.
BUILDERS: dict[str, Callable[[Any, datetime, bool], list[Node]]] = {
    STATEFULSETS: _statefulsets, DAEMONSETS: _daemonsets, JOBS: _jobs, INGRESSES: _ingresses}


class ControllerViews:
    """The dashboard's keys for these views (mixed into DashboardScreen, which has `_set_view`)."""

    def _set_view(self, view: str) -> None:
        raise NotImplementedError

    def action_view_statefulsets(self) -> None:
        self._set_view(STATEFULSETS)

    def action_view_daemonsets(self) -> None:
        self._set_view(DAEMONSETS)

    def action_view_jobs(self) -> None:
        self._set_view(JOBS)

    def action_view_ingresses(self) -> None:
        self._set_view(INGRESSES)
