"""`kdash tree`: list once, print the Deployment and Service trees as text, exit."""

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
from kdash.render.services import build_service_tree
from kdash.render.workloads import build_workload_tree

KINDS = ("Deployment", "ReplicaSet", "Pod", "Service", "Endpoints")


def collect(api_client, namespace: str | None) -> tuple[dict[str, list[Obj]], dict[str, KdashError]]:
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

    with ThreadPoolExecutor(max_workers=len(KINDS)) as pool:
        results = dict(zip(KINDS, pool.map(one, KINDS)))
    return ({name: items for name, (items, _) in results.items()},
            {name: error for name, (_, error) in results.items() if error is not None})


def print_tree(args: argparse.Namespace, console: Console | None = None) -> int:
    """Print what the user may read; name on stderr each kind that could not be listed. Fails
    (the first error) only if no kind could be listed."""
    connection = connect(getattr(args, "kubeconfig", None), getattr(args, "context", None))
    try:
        namespace = None if getattr(args, "all_namespaces", False) else (
            getattr(args, "namespace", None) or connection.namespace)
        objects, failed = collect(connection.api_client, namespace)
    finally:
        connection.close()
    if len(failed) == len(KINDS):
        raise failed[KINDS[0]]
    now = datetime.now(UTC)
    workloads = build_workload_tree(objects["Deployment"], objects["ReplicaSet"], objects["Pod"], now)
    services = build_service_tree(objects["Service"], objects["Pod"], objects["Endpoints"], now)
    if getattr(args, "output", None):
        from kdash.render.output import render

        sys.stdout.write(render(args.output, connection.context_name, namespace, workloads, services))
    else:
        _print_text(console, connection.context_name, namespace, workloads, services)
    for name, error in failed.items():
        where = "in any namespace" if namespace is None else f"in ns {namespace}"
        print(f"kdash: cannot list {KINDS_BY_NAME[name].plural} {where} ({error.title}: {error.message}); "
              "the trees above leave them out", file=sys.stderr)
    return 0


def _print_text(console: Console | None, context: str, namespace: str | None, workloads, services) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:
            # Piped into a file or a script: don't cut node names and IPs at 80 columns.
            console = Console(width=max(console.width, 200))
    scope = "all namespaces" if namespace is None else f"namespace {namespace}"
    console.print(render_text.heading(context, scope), highlight=False)
    console.print(render_text.render_trees(workloads, services))
