"""`python -m bench.soak --minutes 60`: a long session against a private control plane under churn.

A private control plane with --pods pods (2k), a kubeconfig with two contexts on it, and the real
app (bench.soak_app, headless, -A) that cycles through log follows and namespace/context
switches while a load generator writes --rate times a second (bench.load.Churn: scales, pod
image flips, rolling updates). The app samples itself every --sample seconds; at the end the
budgets (bench.soak_report) are checked and printed, and bench/results/soak-<time>.json and
soak-<time>.png are written (the JSON also while it runs, so an interrupted soak keeps its samples).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import lists, load, results, soak_report
from bench.api import Api
from bench.priority import yield_cores
from bench.run import AppProcess, k8s_version
from devcluster import cluster as devcluster

REPO = Path(__file__).resolve().parent.parent
CONTEXTS = ("soak-a", "soak-b")


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=60.0, help="session length after the store loaded (default 60)")
    p.add_argument("--pods", type=int, default=2000, help="pods to create (default 2000)")
    p.add_argument("--rate", type=float, default=20.0, help="churn writes per second (default 20)")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between samples (default 10)")
    p.add_argument("--step", type=float, default=30.0,
                   help="seconds between the session's steps (logs, namespace, context; default 30)")
    p.add_argument("--log-rate", type=int, default=100, help="log lines/s of the followed Deployment (default 100)")
    p.add_argument("--log-pods", type=int, default=2, help="pods of the followed Deployment (default 2)")
    p.add_argument("--nice", type=int, default=10,
                   help="niceness of the control plane and the churn (default 10; 0: share the cores evenly)")
    p.add_argument("--out", default=str(REPO / "bench" / "results"), help="results directory")
    return p.parse_args(argv)


def two_context_kubeconfig(info, namespace: str) -> str:
    """The cluster's kubeconfig with two contexts on it (the second defaults to `namespace`)."""
    config = json.loads(Path(info.kubeconfig).read_text())
    base = config["contexts"][0]["context"]
    config["contexts"] = [{"name": CONTEXTS[0], "context": dict(base, namespace="default")},
                          {"name": CONTEXTS[1], "context": dict(base, namespace=namespace)}]
    config["current-context"] = CONTEXTS[0]
    path = Path(info.state_dir) / "soak-kubeconfig"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return str(path)


class SoakProcess(AppProcess):
    """bench.soak_app instead of bench.app_driver; the same JSON-lines channel and shutdown."""

    def __init__(self, args, kubeconfig: str, layout: load.Layout) -> None:
        cmd = [sys.executable, "-m", "bench.soak_app", "--kubeconfig", kubeconfig,
               "--contexts", ",".join(CONTEXTS), "--namespace", layout.namespaces[0],
               "--log-namespace", load.LOG_NAMESPACE, "--log-deployment", load.LOG_DEPLOYMENT,
               "--pods", str(layout.pods + layout.log_pods), "--sample", str(args.sample), "--step", str(args.step)]
        env = dict(os.environ, PYTHONPATH=lists.python_path(None), PYTHONUNBUFFERED="1")
        self.home = home = tempfile.mkdtemp(prefix="kdash-soak-home-")
        env.update(XDG_CONFIG_HOME=f"{home}/config", XDG_STATE_HOME=f"{home}/state", KDASH_SETTINGS=f"{home}/none.yaml")
        self.stderr = open(Path(tempfile.gettempdir()) / f"kdash-soak-app-{os.getpid()}.log", "w")  # noqa: SIM115
        self.t_spawn = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, bufsize=1, cwd=REPO, env=env)
        self._lock = threading.Lock()


def write(data: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(143)))
    started = datetime.now(UTC)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"soak-{started.strftime('%Y%m%dT%H%M%SZ')}"
    json_path, png_path = out_dir / f"{stem}.json", out_dir / f"{stem}.png"
    layout = load.plan(args.pods, max(1, args.pods // 10), args.log_pods, args.log_rate)
    data: dict = {"started": started.isoformat(timespec="seconds"), "args": vars(args), "pods": args.pods,
                  "rate": args.rate, "minutes": args.minutes, "samples": []}
    info = app = churn = None
    failed = None
    try:
        max_pods = max(6000, args.pods)
        log(f"starting a private control plane (4 nodes); results go to {json_path}")
        state = tempfile.mkdtemp(prefix="kdash-cluster-soak-")
        info = devcluster.start(state_dir=state, nodes=4, max_pods=max_pods, log=log)
        api = Api.for_cluster(info)
        data["machine"] = results.machine_info(k8s_version(api))
        log(f"creating {args.pods} pods in {len(layout.deployments)} deployments")
        load.populate(api, layout, log)
        data["populate_s"] = round(load.wait_ready(api, layout, 120 + args.pods / 15, log), 1)
        kubeconfig = two_context_kubeconfig(info, layout.namespaces[0])
        app = SoakProcess(args, kubeconfig, layout)
        loaded = app.read("loaded", 900)
        data["load_s"] = loaded["load_s"]
        data["samples"].append(loaded["sample"])
        log(f"app loaded {loaded['sample']['pods']} pods in {loaded['load_s']} s; "
            f"RSS {loaded['sample']['rss_mb']} MB; churn at {args.rate:.0f} writes/s for {args.minutes:g} min")
        if args.nice:
            # The app is running (it keeps its priority); the control plane and this process's
            # churn threads (started after this line, from this thread) give way to it.
            threads = yield_cores(list(info.pids.values()), args.nice)
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)
            data["control_plane_nice"] = args.nice
            log(f"control plane ({threads} threads) and churn at nice {args.nice}; the app at 0")
        churn = load.Churn(api, layout, args.rate, args.minutes * 60, emit=lambda w: None)
        churn.prepare()
        churner = threading.Thread(target=churn.run, daemon=True, name="soak-churn")
        churner.start()
        end = time.monotonic() + args.minutes * 60
        last_write = 0.0
        while time.monotonic() < end:
            sample = app.read("sample", max(60.0, 6 * args.sample))
            data["samples"].append(sample)
            if time.monotonic() - last_write >= 60:
                last_write = time.monotonic()
                write(data, json_path)
                log(f"{sample['t'] / 60:5.1f} min: RSS {sample['rss_mb']} MB, GC max {sample['gc_max_ms']} ms, "
                    f"threads {sample['os_threads']}, fds {sample['fds']}, sockets {sample['sockets']}, "
                    f"load {sample['load1']}, {sample['step']} ({len(churn.writes)} writes, "
                    f"{len(churn.errors)} errors)")
        app.send(cmd="quit")
        if os.environ.get("SOAK_TRACEMALLOC"):  # a diagnostic run (bench/soak_app.py's Traced)
            data["tracemalloc"] = app.read("tracemalloc", 600)
        data["session"] = app.read("done", 120)
        churner.join(60)
    except (Exception, KeyboardInterrupt, SystemExit) as exc:  # noqa: BLE001 - write what was sampled, then fail
        failed = f"{type(exc).__name__}: {exc}" if not isinstance(exc, SystemExit) else "stopped by a signal"
        data["error"] = failed
        log(f"FAILED: {failed}")
    finally:
        if churn is not None:
            data["churn"] = churn.summary()
        if app is not None:
            try:
                app.close()
            except Exception:  # noqa: BLE001
                pass
        if info is not None:
            log("stopping the control plane")
            devcluster.stop(info)
    data["verdict"] = soak_report.verdict(data["samples"])
    write(data, json_path)
    print(soak_report.describe(data["verdict"]))
    if soak_report.plot(data["samples"], png_path, f"kdash soak: {args.pods} pods, {args.rate:g} writes/s, "
                        f"{args.minutes:g} min ({started:%Y-%m-%d %H:%M} UTC)"):
        log(f"wrote {json_path} and {png_path}")
    else:
        log(f"wrote {json_path} (no plot: matplotlib is not installed; pip install -e '.[soak]')")
    return 1 if failed or not data["verdict"]["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
