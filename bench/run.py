"""`python -m bench --pods 2000`: one run against a private control plane; prints a table, writes JSON.

Phases (one process tree, one control plane, in this order):
  1. start the control plane (4 fake nodes), create the Deployments/Services, wait for every pod;
  2. reference lists: `kubectl get deploy,rs,pods,svc -A` (table), a raw HTTP list of the same
     kinds, and `kdash tree -A` (the headless variant);
  3. first complete tree: a fresh `python -m bench.app_driver` (the real app, headless, -A) is
     spawned and timed from just before the spawn until a frame holds every Deployment,
     ReplicaSet and Pod (done twice: a throwaway process, then the one the next phases use);
  4. churn at --rate writes/s for --seconds while that process reports event→label / event→paint
     per write and presses ↓ every 250 ms (key→paint);
  5. logs: the logs screen follows a Deployment whose pods together emit --log-rate lines/s;
  6. peak RSS (VmHWM) of the kdash process; stop everything (always).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import lists, load, results
from bench.api import Api
from bench.kubectl_watch import KubectlWatch
from bench.priority import yield_cores
from devcluster import cluster as devcluster

REPO = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--pods", type=int, default=2000, help="pods to create (default 2000)")
    p.add_argument("--deployments", type=int, default=None, help="Deployments (default pods/10)")
    p.add_argument("--rate", type=float, default=100.0, help="churn writes per second (default 100)")
    p.add_argument("--seconds", type=float, default=30.0, help="churn duration (default 30)")
    p.add_argument("--log-rate", type=int, default=5000, help="log lines/s offered in total (default 5000)")
    p.add_argument("--log-pods", type=int, default=5, help="pods sharing --log-rate (default 5)")
    p.add_argument("--log-seconds", type=float, default=10.0, help="log measurement window (default 10)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each reference list (default 3)")
    p.add_argument("--first-tree-runs", type=int, default=2, help="fresh kdash processes timed (default 2)")
    p.add_argument("--size", default="120x40", help="terminal size of the app (default 120x40)")
    p.add_argument("--out", default=str(REPO / "bench" / "results"), help="results directory")
    p.add_argument("--no-logs", action="store_true", help="skip the logs phase")
    p.add_argument("--no-churn", action="store_true", help="skip the churn phase")
    p.add_argument("--kdash-path", default=None, metavar="DIR",
                   help="measure the kdash package of another checkout (e.g. a `git worktree` of an "
                        "older commit) for before/after comparisons")
    p.add_argument("--nice", type=int, default=0,
                   help="niceness of the control plane once populated (default 0: it shares the cores "
                        "evenly with the app; 10: the app first, as with a remote API server)")
    p.add_argument("--profile", default=None, metavar="DIR",
                   help="run the app process under py-spy (if installed), writing flame graphs to DIR")
    args = p.parse_args(argv)
    if args.deployments is None:
        args.deployments = max(1, args.pods // 10)
    return args


class AppProcess:
    """A `python -m bench.app_driver` child: JSON commands in, JSON reports out."""

    def __init__(self, info, expected_file: str, size: tuple[int, int], first_tree_only: bool,
                 tag: str = "", kdash_path: str | None = None) -> None:
        self.info = info
        cmd = [sys.executable, "-m", "bench.app_driver", "--kubeconfig", info.kubeconfig,
               "--expected", expected_file, "--width", str(size[0]), "--height", str(size[1])]
        if first_tree_only:
            cmd.append("--first-tree-only")
        env = dict(os.environ, PYTHONPATH=lists.python_path(kdash_path), PYTHONUNBUFFERED="1")
        # Isolate the app from the user's settings, themes and audit log.
        self.home = home = tempfile.mkdtemp(prefix="kdash-bench-home-")
        env.update(XDG_CONFIG_HOME=f"{home}/config", XDG_STATE_HOME=f"{home}/state", KDASH_SETTINGS=f"{home}/none.yaml")
        self.stderr = open(Path(tempfile.gettempdir()) / f"kdash-bench-app{tag}.log", "w")  # noqa: SIM115 (closed in stop)
        self.t_spawn = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, bufsize=1, cwd=kdash_path or REPO, env=env)
        self._lock = threading.Lock()

    def send(self, **msg) -> None:
        with self._lock:
            try:
                self.proc.stdin.write(json.dumps(msg) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass

    def read(self, wanted: str, timeout: float) -> dict:
        """The next report `wanted` (an "error" report raises)."""
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"kdash process: no {wanted!r} report within {timeout:.0f} s")
            line = self._readline(deadline)
            if line is None:
                raise RuntimeError(f"kdash process exited (code {self.proc.poll()}) before {wanted!r}; "
                                   f"see {self.stderr.name}")
            msg = json.loads(line)
            if msg.get("ev") == "error":
                raise RuntimeError(f"kdash process: {msg.get('message')} ({msg})")
            if msg.get("ev") == wanted:
                return msg

    def _readline(self, deadline: float) -> str | None:
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if sel.select(timeout=0.5):
                    line = self.proc.stdout.readline()
                    return line or None
                if self.proc.poll() is not None:
                    return None
        return ""

    def close(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.send(cmd="quit")
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.home, ignore_errors=True)


def k8s_version(api: Api) -> str:
    try:
        return api.get("/version").get("gitVersion", "?")
    except Exception:  # noqa: BLE001
        return "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = tuple(int(x) for x in args.size.lower().split("x"))
    # A SIGTERM (e.g. a CI timeout) must still stop the control plane: make it an exception.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(143)))
    started = datetime.now(UTC)
    t_run = time.monotonic()
    layout = load.plan(args.pods, args.deployments, args.log_pods if not args.no_logs else 0, args.log_rate)
    data: dict = {"started": started.isoformat(timespec="seconds"), "args": vars(args),
                  "pods": args.pods, "deployments": len(layout.deployments),
                  "namespaces": len(layout.namespaces)}
    info = None
    children: list[AppProcess] = []
    failed = None
    try:
        # nodes × max_pods must hold every pod plus the churn's scale-ups and rollout surges.
        max_pods = max(6000, args.pods)  # per node
        log(f"starting a private control plane (4 nodes, max {max_pods} pods each)")
        info = devcluster.start(nodes=4, max_pods=max_pods, log=log)
        api = Api.for_cluster(info)
        data["machine"] = results.machine_info(k8s_version(api))
        log(f"creating {args.pods} pods in {len(layout.deployments)} deployments "
            f"across {len(layout.namespaces)} namespaces")
        t0 = time.monotonic()
        load.populate(api, layout, log)
        data["populate_s"] = round(time.monotonic() - t0 + load.wait_ready(api, layout, 120 + args.pods / 15, log), 1)
        log(f"all pods running after {data['populate_s']} s")
        time.sleep(3)  # let the controllers' last status writes land

        data["kdash_bytecode"] = lists.compile_kdash(args.kdash_path)
        if args.nice:
            threads = yield_cores(list(info.pids.values()), args.nice)
            data["control_plane_nice"] = args.nice
            log(f"control plane ({threads} threads) at nice {args.nice}")
        log("reference lists: kubectl, raw HTTP, kdash tree")
        kubectl = lists.kubectl_list(info, args.repeat)
        raw = lists.raw_list(api, args.repeat)
        headless = lists.headless_tree(info, max(1, args.repeat - 1), args.kdash_path)
        data.update(kubectl_list_s=round(kubectl["s"], 3), raw_list_s=round(raw["s"], 3),
                    headless_tree_s=round(headless["s"], 3),
                    lists={"kubectl": kubectl, "raw": raw, "headless_tree": headless})
        log(f"  kubectl {kubectl['s']:.2f} s, raw {raw['s']:.2f} s ({raw['bytes'] / 2**20:.0f} MiB), "
            f"kdash tree {headless['s']:.2f} s")

        expected = lists.expected_keys(api)
        expected_file = Path(info.state_dir) / "expected.json"
        expected_file.write_text(json.dumps(expected))
        data["tree_objects"] = len(expected)

        first_runs = []
        app = None
        for run in range(max(1, args.first_tree_runs)):
            last = run == max(1, args.first_tree_runs) - 1
            child = AppProcess(info, str(expected_file), size, first_tree_only=not last, tag=f"-{run}",
                               kdash_path=args.kdash_path)
            children.append(child)
            first = child.read("first_tree", timeout=120 + args.pods / 20)
            m = first["milestones"]
            first_runs.append({
                "first_tree_s": round(first["t"] - child.t_spawn, 3),
                "imports_s": round(first["t_imported"] - child.t_spawn, 3),
                "connected_s": round(m.get("connected", 0) - child.t_spawn, 3),
                # the reflectors started (early start, kdash/boot.py; None for a kdash from before it)
                "watching_s": round(m["watching"] - child.t_spawn, 3) if "watching" in m else None,
                "store_complete_s": round((first["t_store_complete"] or first["t"]) - child.t_spawn, 3),
                "rss_mb": round(first["mem"]["VmRSS"], 1),
                "flushes_ms": first["timings"].get("flush", []),
                "build_tree_ms": first["timings"].get("build_tree", []),
                "patch_ms": first["timings"].get("patch", []),
                "lines": first["lines"],
                "gc": first.get("gc"),
                "gc_tracked": first.get("gc_tracked"),
            })
            log(f"  first complete tree {first_runs[-1]['first_tree_s']:.2f} s after spawn "
                f"(store complete {first_runs[-1]['store_complete_s']:.2f} s, "
                f"{first['nodes']} objects, {first['lines']} lines)")
            if last:
                app = child
            else:
                child.close()
        data["first_tree_runs"] = first_runs
        data["first_tree_s"] = round(statistics.median(r["first_tree_s"] for r in first_runs), 3)
        data["first_tree_ratio"] = round(data["first_tree_s"] / data["kubectl_list_s"], 2)
        data["first_tree_vs_raw"] = round(data["first_tree_s"] / data["raw_list_s"], 2)

        # Settle: the first age refresh and the endpoints catch-up happen here, not under churn.
        time.sleep(3)
        app.send(cmd="status")
        data["idle"] = slim_timings(app.read("status", 30))

        if not args.no_churn:
            churn_phase(api, layout, app, args, data)
        if not args.no_logs and layout.log_pods:
            log(f"logs: {layout.log_pods} pods × {layout.log_rate_per_pod} lines/s, "
                f"{args.log_seconds:.0f} s window")
            app.send(cmd="logs", namespace=load.LOG_NAMESPACE, name=load.LOG_DEPLOYMENT,
                     seconds=args.log_seconds, warmup=15)
            logs = app.read("logs", 120)
            logs["offered_per_s"] = layout.log_pods * layout.log_rate_per_pod
            data["logs"] = logs
            data["log_lines_per_s"] = logs["lines_per_s"]
            data["log_max_stall_ms"] = logs["max_stall_ms"]
            data["log_rss_growth_mb"] = round(logs["rss_first_last_mb"][1] - logs["rss_first_last_mb"][0], 1)
        app.send(cmd="quit")
        leak = app.read("leak", 60)
        data["frozen_garbage"] = {k: leak.get(k) for k in ("frozen_objects", "garbage_found", "full_collection_ms",
                                                            "refreezes", "deep_cleans")}
        final = app.read("final", 60)
        data["rss_mb"] = round(final["mem"]["VmHWM"], 1)
        data["app_cpu_s"] = round(sum(final["cpu"]), 1)
    except Exception as exc:  # noqa: BLE001 - still write what was measured, then fail
        failed = f"{type(exc).__name__}: {exc}"
        data["error"] = failed
        log(f"FAILED: {failed}")
    finally:
        for child in children:
            try:
                child.close()
            except Exception:  # noqa: BLE001
                pass
        if info is not None:
            log("stopping the control plane")
            devcluster.stop(info)
    data["total_s"] = round(time.monotonic() - t_run, 1)
    path = results.write(data, Path(args.out), started)
    print(results.table(data))
    log(f"wrote {path} and {path.parent / 'latest.json'}")
    return 1 if failed else 0


def churn_phase(api: Api, layout: load.Layout, app: AppProcess, args, data: dict) -> None:
    churn = load.Churn(api, layout, args.rate, args.seconds,
                       emit=lambda w: app.send(cmd="expect", seq=w.seq, type=w.type, key=w.key,
                                               pattern=w.pattern, t=w.t, value=w.value))
    churn.prepare()
    peer = KubectlWatch(app.info)
    if not peer.wait_listed(len(layout.deployments), 60 + len(layout.deployments) / 50):
        log("  kubectl watch: the initial listing did not finish; its figures may be missing")
    log(f"churn: {args.rate:.0f} writes/s for {args.seconds:.0f} s "
        f"({len(churn.scale)} scaled deployments, {len(churn.flip_pods)} flip pods, "
        f"{len(churn.rollout)} rollout deployments)")
    app.send(cmd="churn_start", key_interval=0.25)
    app.read("churn_started", 30)
    spy = profile(app, args, "churn", args.seconds + 2)
    churn.run()
    # Wait for the stragglers' responses, then tell the app when the last write returned.
    deadline = time.monotonic() + 30
    while len(churn.writes) + len(churn.errors) < int(args.rate * args.seconds) and time.monotonic() < deadline:
        time.sleep(0.05)
    t_end = max([w.t for w in churn.writes] + [churn.ended])
    app.send(cmd="churn_end", t_end=t_end, grace=2.0)
    result = app.read("churn", 120)
    peer.close()
    if spy is not None:
        spy.wait(60)
    data["churn"] = {"load": churn.summary(), **summarize_churn(result)}
    c = data["churn"]
    c["kubectl_watch"] = peer.latencies(churn.writes)
    data["kubectl_watch_p99_ms"] = c["kubectl_watch"]["p99_ms"]
    if c["kubectl_watch"]["p99_ms"] and c["scale"]["e2s_p99"] is not None:
        data["event_to_screen_vs_kubectl_watch_p99"] = round(c["scale"]["e2s_p99"] / c["kubectl_watch"]["p99_ms"], 2)
    gc_full = (c.get("gc") or {}).get("gen2") or {}
    data["gc_full_passes"] = gc_full.get("n")
    data["gc_full_max_ms"] = gc_full.get("max_ms")
    data["gc_full_total_ms"] = gc_full.get("total_ms")
    data["gc_tracked_after_churn"] = result.get("gc_tracked")
    data["gc_frozen_after_churn"] = result.get("gc_frozen")
    data["event_to_screen_p50_ms"] = c["scale"]["e2s_p50"]
    data["event_to_screen_p99_ms"] = c["scale"]["e2s_p99"]
    data["events_behind"] = c["behind"]
    data["events_behind_indirect"] = c["behind_indirect"]
    data["key_to_paint_p95_ms"] = c["keys"]["paint_p95"]
    log(f"  event→screen p50 {c['scale']['e2s_p50']} ms p99 {c['scale']['e2s_p99']} ms, "
        f"behind {c['behind']}, key→paint p95 {c['keys']['paint_p95']} ms, max stall {c['max_stall_ms']} ms")
    log(f"  kubectl watch p50 {c['kubectl_watch']['p50_ms']} ms p99 {c['kubectl_watch']['p99_ms']} ms "
        f"({c['kubectl_watch']['missing']} not seen); full GC {data['gc_full_passes']} passes, "
        f"max {data['gc_full_max_ms']} ms, {data['gc_tracked_after_churn']} tracked objects after the churn")


def profile(app: AppProcess, args, phase: str, seconds: float) -> subprocess.Popen | None:
    """With --profile DIR: sample the kdash process with py-spy for this phase (raw stacks)."""
    if not args.profile:
        return None
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        log("--profile: py-spy is not installed (pip install py-spy); not profiling")
        return None
    Path(args.profile).mkdir(parents=True, exist_ok=True)
    out = Path(args.profile) / f"{phase}-{args.pods}pods.txt"
    log(f"  profiling {phase} with py-spy into {out}")
    return subprocess.Popen([str(spy), "record", "--pid", str(app.proc.pid), "--duration", str(int(seconds)),
                             "--rate", "100", "--format", "raw", "--threads", "--nonblocking", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_churn(result: dict) -> dict:
    out: dict = {}
    for kind in ("scale", "flip", "rollout", "all"):
        rows = [w for w in result["writes"] if kind == "all" or w["type"] == kind]
        e2s = sorted(w["e2s"] for w in rows)
        e2l = sorted(w["e2l"] for w in rows)
        out[kind] = {
            "n": len(rows),
            "e2s_p50": results.pct(e2s, 50), "e2s_p99": results.pct(e2s, 99), "e2s_max": e2s[-1] if e2s else None,
            "e2l_p50": results.pct(e2l, 50), "e2l_p99": results.pct(e2l, 99),
            # write returned → the watch event applied to kdash's store (apiserver + reflector)
            "e2a_p50": results.pct(sorted(w["e2a"] for w in rows if w.get("e2a") is not None), 50),
            "e2a_p99": results.pct(sorted(w["e2a"] for w in rows if w.get("e2a") is not None), 99),
            "early": sum(1 for w in rows if w["early"]),
        }
    keys = result["keys"]
    paint = sorted(k["paint"] if k["paint"] is not None else 5000.0 for k in keys)
    handled = sorted(k["handled"] for k in keys if k["handled"] is not None)
    out["keys"] = {"n": len(keys), "paint_p50": results.pct(paint, 50), "paint_p95": results.pct(paint, 95),
                   "paint_max": paint[-1] if paint else None, "handled_p95": results.pct(handled, 95),
                   "timeouts": sum(1 for k in keys if k["paint"] is None)}
    # A scale write's effect is in the written object itself; flips and rollouts wait for the
    # fake kubelet / the deployment controller, which may not have acted within the grace time.
    out["behind"] = sum(1 for b in result["behind"] if b["type"] == "scale")
    out["behind_indirect"] = sum(1 for b in result["behind"] if b["type"] != "scale")
    out["behind_sample"] = result["behind"][:10]
    out["superseded"] = len(result["superseded"])
    out["max_stall_ms"] = result["max_stall_ms"]
    out["stalls_over_100ms"] = result["stalls_over_100ms"]
    out["rss_mb_after"] = round(result["mem"]["VmRSS"], 1)
    out["timings"] = results.timing_summary(result["timings"])
    out["gc"] = result.get("gc")
    return out


def slim_timings(status: dict) -> dict:
    return {"rss_mb": round(status["mem"]["VmRSS"], 1), "timings": results.timing_summary(status["timings"]),
            "gc": status.get("gc")}


if __name__ == "__main__":
    sys.exit(main())
