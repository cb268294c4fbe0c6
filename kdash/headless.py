"""`kdash tree [KIND...]`: list once, print the trees (Deployments, Services, StatefulSets, DaemonSets), exit."""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from rich.console import Console

from kdash.core.kinds import ENDPOINTS, KINDS_BY_NAME
from kdash.core.objects import Obj
from kdash.errors import KdashError, describe_api_error
from kdash.kube.client import connect
from kdash.kube.endpointslices import list_endpoints
from kdash.kube.namespaces import list_objects  # a subset "a,b": one LIST per namespace
from kdash.kube.objects import slim
from kdash.render import text as render_text
from kdash.render.daemonsets import build_daemonset_tree
from kdash.render.services import build_service_tree
from kdash.render.statefulsets import build_statefulset_tree
from kdash.render.workloads import build_workload_tree

# The trees `kdash tree` prints, in order, with the kinds each is built from.
TREES: dict[str, tuple[str, ...]] = {
    "workloads": ("Deployment", "ReplicaSet", "Pod"),
    "services": ("Service", "Endpoints", "Pod"),
    "statefulsets": ("StatefulSet", "Pod", "PersistentVolumeClaim", "ControllerRevision"),
    "daemonsets": ("DaemonSet", "Pod", "Node", "ControllerRevision"),
}
# What a user may type for each tree, kubectl's short names included.
TREE_NAMES = {
    "workloads": "workloads", "deployments": "workloads", "deployment": "workloads", "deploy": "workloads",
    "services": "services", "service": "services", "svc": "services",
    "statefulsets": "statefulsets", "statefulset": "statefulsets", "sts": "statefulsets",
    "daemonsets": "daemonsets", "daemonset": "daemonsets", "ds": "daemonsets",
}
KINDS = tuple(dict.fromkeys(kind for kinds in TREES.values() for kind in kinds))


def trees_asked(names: list[str] | None) -> list[str]:
    """The trees to print for `kdash tree NAME...` (every tree without names), in TREES order."""
    if not names:
        return list(TREES)
    unknown = [n for n in names if n.lower() not in TREE_NAMES]
    if unknown:
        raise KdashError("Unknown tree", f"{unknown[0]!r}: choose from {', '.join(TREES)} "
                         "(or deploy, svc, sts, ds)")
    wanted = {TREE_NAMES[n.lower()] for n in names}
    return [tree for tree in TREES if tree in wanted]


def collect(api_client, namespace: str | None,
            kinds: tuple[str, ...] = KINDS) -> tuple[dict[str, list[Obj]], dict[str, KdashError]]:
    """List the tree kinds in parallel (one LIST each, paginated, raw JSON): the objects per
    kind, and per kind that could not be listed (forbidden by RBAC, ...) why."""

    def one(name: str) -> tuple[list[Obj], KdashError | None]:
        kind = KINDS_BY_NAME[name]
        try:
            if kind is ENDPOINTS:  # from EndpointSlices where the server serves them
                return list_endpoints(api_client, namespace, transform=lambda item: slim(item)), None
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
    asked = trees_asked(getattr(args, "kinds", None))
    kinds = tuple(dict.fromkeys(kind for tree in asked for kind in TREES[tree]))
    connection = connect(getattr(args, "kubeconfig", None), getattr(args, "context", None))
    try:
        namespace = None if getattr(args, "all_namespaces", False) else (
            getattr(args, "namespace", None) or connection.namespace)
        objects, failed = collect(connection.api_client, namespace, kinds)
    finally:
        connection.close()
    if len(failed) == len(kinds):
        raise failed[kinds[0]]
    trees = build_trees(asked, objects, "Node" in failed)
    workloads, services = trees.pop("workloads", None), trees.pop("services", None)
    more = [(_TITLES[name], nodes) for name, nodes in trees.items()]
    if getattr(args, "output", None):
        from kdash.render.output import render

        sys.stdout.write(render(args.output, connection.context_name, namespace, workloads, services, more))
    else:
        _print_text(console, connection.context_name, namespace, workloads, services, more)
    for name, error in failed.items():
        where = "in any namespace" if namespace is None else f"in ns {namespace}"
        print(f"kdash: cannot list {KINDS_BY_NAME[name].plural} {where} ({error.title}: {error.message}); "
              "the trees above leave them out", file=sys.stderr)
    return 0


_TITLES = {"statefulsets": "StatefulSets", "daemonsets": "DaemonSets"}


def build_trees(asked: list[str], objects: dict[str, list[Obj]], nodes_failed: bool) -> dict[str, list]:
    """The asked trees' nodes by tree name (the DaemonSet tree says so when Nodes could not be listed)."""
    now = datetime.now(UTC)
    builders = {
        "workloads": lambda: build_workload_tree(objects["Deployment"], objects["ReplicaSet"], objects["Pod"], now),
        "services": lambda: build_service_tree(objects["Service"], objects["Pod"], objects["Endpoints"], now),
        "statefulsets": lambda: build_statefulset_tree(objects["StatefulSet"], objects["Pod"],
                                                       objects["PersistentVolumeClaim"],
                                                       objects["ControllerRevision"], now),
        "daemonsets": lambda: build_daemonset_tree(objects["DaemonSet"], objects["Pod"],
                                                   None if nodes_failed else objects["Node"],
                                                   objects["ControllerRevision"], now),
    }
    return {name: builders[name]() for name in asked}


def _print_text(console: Console | None, context: str, namespace: str | None, workloads, services,
                more=()) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:
            # Piped into a file or a script: don't cut node names and IPs at 80 columns.
            console = Console(width=max(console.width, 200))
    scope = "all namespaces" if namespace is None else f"namespace {namespace}"
    console.print(render_text.heading(context, scope), highlight=False)
    console.print(render_text.render_trees(workloads, services, more))
