"""Offline cost of the store's Pod representation: decode, GC, tree build and memory, CPU time.

    .venv/bin/python -m bench.store_cost --pods 10000 [--repr dict|record]

No cluster: N pods shaped like the fixture cluster's (tests/unit/fixtures/cluster.json, each with
a kubelet-sized managedFields entry) go through both decode paths of kdash.kube.decode /
kube.objects.slim as a LIST page and as watch events. Times are CPU time of this process
(time.process_time), so a machine shared with other work inflates them less than wall time.
One representation per process (--repr), so RSS and the collector's heap are not shared.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from kdash.core.kinds import POD
from kdash.kube.decode import decode_event, decode_page
from kdash.kube.objects import slim
from kdash.render.workloads import build_workload_tree

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "unit" / "fixtures" / "cluster.json"
MANAGED = [{"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-12-07T05:00:00Z",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:conditions": {
                f'k:{{"type":"{t}"}}': {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {},
                                        "f:type": {}} for t in ("ContainersReady", "Initialized", "Ready")},
                "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {},
                "f:podIPs": {".": {}, 'k:{"ip":"10.0.0.1"}': {".": {}, "f:ip": {}}}, "f:startTime": {}}}}]


def pods(n: int) -> list[dict]:
    cluster = json.loads(FIXTURE.read_text())
    base = cluster["pods"]["items"]
    out = []
    for i in range(n):
        pod = json.loads(json.dumps(base[i % len(base)]))
        meta = pod["metadata"]
        meta["name"] = f"{meta['name']}-{i}"
        meta["uid"] = f"{meta['uid'][:-6]}{i:06d}"
        meta["managedFields"] = MANAGED
        out.append(pod)
    return out


def cpu_ms(fn) -> tuple[float, object]:
    t = time.process_time()
    result = fn()
    return (time.process_time() - t) * 1000, result


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=10000)
    p.add_argument("--repr", choices=("dict", "msgspec-dict", "record"), default="record",
                   help="dict: json + slim (the store before records); msgspec-dict: msgspec.json to dicts + "
                        "slim (a faster decoder alone); record: kdash.core.records")
    args = p.parse_args(argv)
    objects = pods(args.pods)
    page = json.dumps({"kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": objects},
                      separators=(",", ":")).encode()
    events = [json.dumps({"type": "MODIFIED", "object": {"kind": "Pod", "apiVersion": "v1", **o}},
                         separators=(",", ":")).encode() for o in objects]
    cluster = json.loads(FIXTURE.read_text())
    deployments, replicasets = cluster["deployments"]["items"], cluster["replicasets"]["items"]
    del objects
    gc.collect()
    gc.disable()  # the collector's own runs would land in whichever step allocates: measured apart below
    out: dict = {"pods": args.pods, "repr": args.repr, "python": sys.version.split()[0]}
    base_tracked = len(gc.get_objects())
    base_rss = rss_mb()
    if args.repr == "dict":
        def list_path():
            body = json.loads(page)
            return [slim(item, POD, intern_values=True) for item in body["items"]]

        def watch_path():
            return [slim(json.loads(line)["object"], POD, compact=True) for line in events]
    elif args.repr == "msgspec-dict":
        decode = msgspec.json.decode

        def list_path():
            return [slim(item, POD) for item in decode(page)["items"]]

        def watch_path():
            return [slim(decode(line)["object"], POD) for line in events]
    else:
        def list_path():
            return decode_page(POD, page, lambda item: slim(item, POD, intern_values=True))[0]

        def watch_path():
            return [decode_event(POD, line, lambda obj: slim(obj, POD, compact=True))[1] for line in events]

    out["list_decode_ms"], listed = cpu_ms(list_path)
    out["list_rss_mb"] = round(rss_mb() - base_rss, 1)
    del listed
    freed_rss = rss_mb()  # pymalloc keeps the freed arenas: the watch store reuses them first
    out["watch_decode_ms"], store = cpu_ms(watch_path)
    out["watch_decode_us_per_pod"] = round(out["watch_decode_ms"] * 1000 / args.pods, 1)
    out["watch_store_rss_mb"] = round(rss_mb() - base_rss, 1) if rss_mb() > freed_rss else None
    gc.collect(0)
    gc.collect(1)
    out["tracked_objects_added"] = len(gc.get_objects()) - base_tracked
    out["full_collection_ms"], _ = cpu_ms(gc.collect)
    out["tracked_objects_added_after_full"] = len(gc.get_objects()) - base_tracked
    now = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)
    out["tree_build_ms"], _ = cpu_ms(lambda: build_workload_tree(deployments, replicasets, store, now))
    for k, v in out.items():
        if isinstance(v, float):
            out[k] = round(v, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
