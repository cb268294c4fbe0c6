"""Reference list timings on the same cluster: kubectl's table, a raw HTTP list, `kdash tree`."""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.api import Api

REPO = Path(__file__).resolve().parent.parent
KINDS = {  # what `kubectl get deploy,rs,pods,svc -A` lists
    "deployments": "/apis/apps/v1/deployments",
    "replicasets": "/apis/apps/v1/replicasets",
    "pods": "/api/v1/pods",
    "services": "/api/v1/services",
}


def kubectl_list(info, repeat: int) -> dict:
    """Wall time of `kubectl get deploy,rs,pods,svc -A` (table output into a pipe)."""
    times, lines = [], 0
    for _ in range(repeat):
        t0 = time.monotonic()
        proc = subprocess.run([info.kubectl_path, "--kubeconfig", info.kubeconfig, "get",
                               "deploy,rs,pods,svc", "-A"], capture_output=True, text=True, timeout=300)
        times.append(time.monotonic() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"kubectl failed: {proc.stderr[-500:]}")
        lines = proc.stdout.count("\n")
    return {"s": statistics.median(times), "runs": times, "lines": lines}


def raw_list(api: Api, repeat: int) -> dict:
    """The same four kinds with plain HTTP GETs (no pagination, in parallel), body read + json.loads.

    The physical limit for a client that needs the objects in memory: the apiserver's time to
    serve them plus parsing. (kdash lists in pages of 500, like kubectl, and more kinds.)
    """
    times, size, counts = [], 0, {}

    def one(item: tuple[str, str]) -> tuple[str, int, int]:
        name, path = item
        status, body = api.request("GET", path, timeout=300)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}")
        return name, len(body), len(json.loads(body)["items"])

    with ThreadPoolExecutor(len(KINDS)) as pool:
        for _ in range(repeat):
            t0 = time.monotonic()
            results = list(pool.map(one, KINDS.items()))
            times.append(time.monotonic() - t0)
            size = sum(r[1] for r in results)
            counts = {r[0]: r[2] for r in results}
    return {"s": statistics.median(times), "runs": times, "bytes": size, "counts": counts}


def compile_kdash(kdash_path: str | None = None) -> bool:
    """Byte-compile the measured kdash, as `pip install` does for a user's copy: True if it worked.

    A checkout run with PYTHONDONTWRITEBYTECODE set (or from a read-only tree) would otherwise
    compile every kdash module in every fresh process, and the start-up figures would time the
    compiler, which no installed kdash does.
    """
    root = Path(kdash_path).resolve() if kdash_path else REPO
    dirs = [root / "kdash", REPO / "bench"]  # the app driver is bench code, imported before kdash
    return all(compileall.compile_dir(str(d), quiet=1) for d in dirs)


def python_path(kdash_path: str | None = None) -> str:
    """PYTHONPATH for a process that imports kdash (from `kdash_path` if given) and bench."""
    paths = [str(Path(kdash_path).resolve())] if kdash_path else []
    return os.pathsep.join([*paths, str(REPO)])


def headless_tree(info, repeat: int, kdash_path: str | None = None) -> dict:
    """Wall time of a fresh `python -m kdash tree -A` printing both trees to a pipe."""
    times = []
    env = dict(os.environ, PYTHONPATH=python_path(kdash_path))
    for _ in range(repeat):
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "kdash", "--kubeconfig", info.kubeconfig, "tree", "-A"],
                              capture_output=True, text=True, timeout=600, cwd=kdash_path or REPO, env=env)
        times.append(time.monotonic() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"kdash tree failed: {proc.stderr[-500:]}")
    return {"s": statistics.median(times), "runs": times}


def expected_keys(api: Api) -> list[str]:
    """Keys every complete workload tree holds: each Deployment, ReplicaSet and Pod."""
    keys = []
    for kind, path in (("Deployment", KINDS["deployments"]), ("ReplicaSet", KINDS["replicasets"]),
                       ("Pod", KINDS["pods"])):
        for obj in api.list_all(path):
            meta = obj["metadata"]
            keys.append(f"{kind}/{meta['namespace']}/{meta['name']}")
    return keys
