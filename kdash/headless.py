"""`kdash tree [KIND,...]`: list once, print the trees (workloads, services, sets, jobs, ingresses), exit."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from rich.console import Console

from kdash.core.kinds import ENDPOINTS, KINDS_BY_NAME
from kdash.core.objects import Obj
from kdash.errors import KdashError, describe_api_error
from kdash.kube.client import connect
from kdash.kube.discovery import served_kind
from kdash.kube.endpointslices import list_endpoints
from kdash.kube.namespaces import list_objects  # a subset "a,b": one LIST per namespace
from kdash.kube.objects import slim
from kdash.render import text as render_text
from kdash.render.daemonsets import build_daemonset_tree
from kdash.render.hpa import annotate, hpa_index
from kdash.render.ingresses import build_ingress_tree
from kdash.render.jobs import build_jobs_tree
from kdash.render.services import build_service_tree
from kdash.render.statefulsets import build_statefulset_tree
from kdash.render.tree import Node
from kdash.render.workloads import build_workload_tree

Objects = dict[str, list[Obj]]


def _workloads(o: Objects, now: datetime) -> list[Node]:
    nodes = build_workload_tree(o["Deployment"], o["ReplicaSet"], o["Pod"], now)
    return annotate(nodes, hpa_index(o["HorizontalPodAutoscaler"]))


def _statefulsets(o: Objects, now: datetime) -> list[Node]:
    nodes = build_statefulset_tree(o["StatefulSet"], o["Pod"], o["PersistentVolumeClaim"], o["ControllerRevision"], now)
    return annotate(nodes, hpa_index(o["HorizontalPodAutoscaler"]), kinds=frozenset({"StatefulSet"}))


def _daemonsets(o: Objects, now: datetime) -> list[Node]:
    # Nodes absent (not listable): the tree says a node without its pod cannot be shown.
    return build_daemonset_tree(o["DaemonSet"], o["Pod"], o.get("Node"), o["ControllerRevision"], now)


# view → (title, kinds it lists, builder); the order is the print order.
TREES: dict[str, tuple[str, tuple[str, ...], Callable[[Objects, datetime], list[Node]]]] = {
    "workloads": ("Workloads", ("Deployment", "ReplicaSet", "Pod", "HorizontalPodAutoscaler"), _workloads),
    "services": ("Services", ("Service", "Pod", "Endpoints"),
                 lambda o, now: build_service_tree(o["Service"], o["Pod"], o["Endpoints"], now)),
    "statefulsets": ("StatefulSets", ("StatefulSet", "Pod", "PersistentVolumeClaim", "ControllerRevision",
                                      "HorizontalPodAutoscaler"), _statefulsets),
    "daemonsets": ("DaemonSets", ("DaemonSet", "Pod", "Node", "ControllerRevision"), _daemonsets),
    "jobs": ("Jobs", ("CronJob", "Job", "Pod"),
             lambda o, now: build_jobs_tree(o["CronJob"], o["Job"], o["Pod"], now)),
    "ingresses": ("Ingresses", ("Ingress", "Service", "Pod", "Endpoints"),
                  lambda o, now: build_ingress_tree(o["Ingress"], o["Service"], o["Pod"], o["Endpoints"], now)),
}
# kubectl's names and short names for the kinds each tree shows.
ALIASES = {
    "workloads": ("deploy", "deployment", "deployments", "rs", "replicaset", "replicasets", "hpa",
                  "horizontalpodautoscaler", "horizontalpodautoscalers"),
    "services": ("svc", "service", "services"),
    "statefulsets": ("sts", "statefulset", "statefulsets"),
    "daemonsets": ("ds", "daemonset", "daemonsets"),
    "jobs": ("cj", "cronjob", "cronjobs", "job", "jobs"),
    "ingresses": ("ing", "ingress", "ingresses"),
}
KINDS = tuple(dict.fromkeys(kind for _, kinds, _ in TREES.values() for kind in kinds))


def views_named(text: str | None) -> list[str]:
    """The trees for "deploy,cj" (kubectl's resource names, comma separated; "all" or nothing: every tree)."""
    if not text or text == "all":
        return list(TREES)
    wanted: set[str] = set()
    for word in (w.strip().lower() for w in text.split(",") if w.strip()):
        view = word if word in TREES else next((v for v, names in ALIASES.items() if word in names), None)
        if view is None:
            known = ", ".join(name for names in ALIASES.values() for name in names[:1]) + ", all"
            raise KdashError("Unknown kind", f"{word!r}: kdash tree shows {known}")
        wanted.add(view)
    return [view for view in TREES if view in wanted]


def build_trees(views: Sequence[str], objects: Objects, now: datetime | None = None) -> dict[str, list[Node]]:
    """Each view's nodes from listed objects; a kind not listed counts as none (Node absent: the
    DaemonSet tree says a node without its pod cannot be shown)."""
    listed: Objects = defaultdict(list, objects)
    moment = now or datetime.now(UTC)
    return {view: TREES[view][2](listed, moment) for view in views}


def _joined(kinds: str | list[str] | None) -> str | None:
    """`kdash tree sts ds` and `kdash tree sts,ds` alike."""
    return ",".join(kinds) if isinstance(kinds, list) else kinds


class Unavailable(KdashError):
    """The server serves none of the kind's API versions."""


def collect(api_client, namespace: str | None, kinds: Sequence[str] = KINDS
            ) -> tuple[dict[str, list[Obj]], dict[str, KdashError]]:
    """List `kinds` in parallel (one LIST each, paginated, raw JSON, at the version the server
    serves): the objects per kind, and per kind that could not be listed (forbidden by RBAC, not
    served, ...) why."""

    def one(name: str) -> tuple[list[Obj], KdashError | None]:
        try:
            if KINDS_BY_NAME[name] is ENDPOINTS:  # from EndpointSlices where the server serves them
                return list_endpoints(api_client, namespace, transform=lambda item: slim(item)), None
            kind = served_kind(api_client, KINDS_BY_NAME[name])
            if kind is None:
                return [], Unavailable("Unavailable", "this API server does not serve them")
            items, _ = list_objects(api_client, kind, namespace, transform=lambda item: slim(item, kind))
        except KdashError as exc:
            return [], exc
        except Exception as exc:  # ApiException / urllib3 errors get a titled message
            return [], describe_api_error(exc)
        return items, None

    with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
        results = dict(zip(kinds, pool.map(one, kinds)))
    return ({name: items for name, (items, _) in results.items()},
            {name: error for name, (_, error) in results.items() if error is not None})


def print_tree(args: argparse.Namespace, console: Console | None = None) -> int:
    """Print what the user may read; name on stderr each kind that could not be listed. Fails
    (the first error) only if no kind could be listed."""
    views = views_named(_joined(getattr(args, "kinds", None)))
    kinds = tuple(dict.fromkeys(kind for view in views for kind in TREES[view][1]))
    connection = connect(getattr(args, "kubeconfig", None), getattr(args, "context", None))
    try:
        namespace = None if getattr(args, "all_namespaces", False) else (
            getattr(args, "namespace", None) or connection.namespace)
        objects, failed = collect(connection.api_client, namespace, kinds)
    finally:
        connection.close()
    errors = {name: error for name, error in failed.items() if not isinstance(error, Unavailable)}
    if errors and len(failed) == len(kinds):
        raise errors.get(kinds[0]) or next(iter(errors.values()))
    if "Node" in failed:
        objects.pop("Node", None)
    trees = build_trees(views, objects)
    if getattr(args, "output", None):
        from kdash.render.output import render_sections

        sys.stdout.write(render_sections(args.output, connection.context_name, namespace, trees))
    else:
        _print_text(console, connection.context_name, namespace, [(TREES[v][0], trees[v]) for v in views])
    for name, error in failed.items():
        plural = KINDS_BY_NAME[name].plural
        if isinstance(error, Unavailable):
            print(f"kdash: {plural}: unavailable ({error.message})", file=sys.stderr)
            continue
        where = "(cluster-scoped)" if not KINDS_BY_NAME[name].namespaced else \
            "in any namespace" if namespace is None else f"in ns {namespace}"
        print(f"kdash: cannot list {plural} {where} ({error.title}: {error.message}); "
              "the trees above leave them out", file=sys.stderr)
    return 0


def _print_text(console: Console | None, context: str, namespace: str | None,
                trees: list[tuple[str, list[Node]]]) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:
            # Piped into a file or a script: don't cut node names and IPs at 80 columns.
            console = Console(width=max(console.width, 200))
    scope = "all namespaces" if namespace is None else f"namespace {namespace}"
    console.print(render_text.heading(context, scope), highlight=False)
    if console.is_terminal or console.width < render_text.PLAIN_MIN_WIDTH:
        console.print(render_text.render_titled(trees))
    else:  # no styles to draw: the same characters, without Rich's layout
        console.file.write(render_text.plain_titled(trees, console.width))
        console.file.flush()
