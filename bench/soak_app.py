"""The kdash process under the soak: the real app, headless, driven through a long session and sampled.

Started by bench.soak as `python -m bench.soak_app ...`; reports (JSON lines) go to its original
stdout through bench.app_driver's report channel. The session repeats a cycle of STEPS, one step
every --step seconds: follow a Deployment's logs, switch namespace, back to all namespaces, follow
again, switch context, back to all namespaces. Meanwhile ↓ is pressed once a second wherever the
user is. Every --sample seconds a sample reports RSS, the longest GC pause (gc.callbacks) and
event-loop stall since the last sample, threads, open fds and sockets, and the machine's load.
"""

from __future__ import annotations

import time

T_MODULE = time.monotonic()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import tracemalloc  # noqa: E402

from bench.app_driver import proc_status  # noqa: E402 (also moves stray prints to stderr)
from bench.app_driver import report as _report  # noqa: E402

STEPS = ("logs", "namespace", "all-namespaces", "logs", "context", "all-namespaces")
_lock = threading.Lock()


def report(ev: str, **fields) -> None:
    with _lock:  # the sampler and the session report from one loop, but exceptions may come from threads
        _report(ev, **fields)


def fd_counts() -> tuple[int, int]:
    """(open file descriptors, of which sockets) of this process."""
    fds = sockets = 0
    for name in os.listdir("/proc/self/fd"):
        fds += 1
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                sockets += 1
        except OSError:
            pass  # closed between listdir and readlink
    return fds, sockets


class PauseWatch:
    """Every collection's wall time and the CPU time of the thread it ran on (the collector runs
    on the thread that triggered it): on a machine shared with other work, the wall time includes
    waiting for a core, the CPU time is what the pause costs on an idle one."""

    LONG_MS = 100.0  # pauses at least this long are listed one by one

    def __init__(self) -> None:
        self.runs: list[tuple[int, float, float]] = []
        self.long: list[dict] = []
        self._start = (0.0, 0.0)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = (time.perf_counter(), time.thread_time())
            return
        wall = (time.perf_counter() - self._start[0]) * 1000
        cpu = (time.thread_time() - self._start[1]) * 1000
        self.runs.append((info["generation"], wall, cpu))
        if wall >= self.LONG_MS:
            self.long.append({"gen": info["generation"], "wall_ms": round(wall, 1), "cpu_ms": round(cpu, 1),
                              "collected": info.get("collected"), "at": time.monotonic()})

    def take(self, t0: float) -> dict:
        runs, self.runs = self.runs, []
        long, self.long = self.long, []
        out: dict = {"long": [dict(p, at=round(p["at"] - t0, 1)) for p in long]}
        for gen in (0, 1, 2):
            walls = [w for g, w, _ in runs if g == gen]
            cpus = [c for g, _, c in runs if g == gen]
            out[f"gen{gen}"] = {"n": len(walls), "max_ms": round(max(walls), 1) if walls else 0.0,
                                "max_cpu_ms": round(max(cpus), 1) if cpus else 0.0,
                                "total_ms": round(sum(walls), 1)}
        return out


class Heartbeat:
    """The longest gap between 10 ms ticks of the UI loop since the last take()."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.max_gap = 0.0

    def beat(self) -> None:
        t = time.monotonic()
        if self.last is not None:
            self.max_gap = max(self.max_gap, t - self.last)
        self.last = t

    def take(self) -> float:
        gap, self.max_gap = self.max_gap, 0.0
        return round(gap * 1000, 1)


class Sampler:
    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.gc = PauseWatch()
        self.heart = Heartbeat()
        self.cpu0 = sum(os.times()[:2])
        self.t_last = t0
        gc.callbacks.append(self.gc)

    def sample(self, app, session: Session) -> dict:
        now = time.monotonic()
        cpu = sum(os.times()[:2])
        mem = proc_status()
        fds, sockets = fd_counts()
        gcs = self.gc.take(self.t0)
        gens = [gcs[f"gen{g}"] for g in (0, 1, 2)]
        out = {
            "t": round(now - self.t0, 1),
            "rss_mb": round(mem["VmRSS"], 1),
            "hwm_mb": round(mem["VmHWM"], 1),
            "gc_max_ms": max(g["max_ms"] for g in gens),
            "gc_max_cpu_ms": max(g["max_cpu_ms"] for g in gens),
            "gc": gcs,
            "loop_stall_max_ms": self.heart.take(),
            "threads": threading.active_count(),
            "os_threads": len(os.listdir("/proc/self/task")),
            "fds": fds,
            "sockets": sockets,
            "load1": round(os.getloadavg()[0], 2),
            "cpu_pct": round(100 * (cpu - self.cpu0) / max(1e-6, now - self.t_last), 1),
            "frozen": gc.get_freeze_count(),
            # What kdash/heap.py did so far: a full collection follows each store reload (a
            # namespace or context switch), a refreeze or deep clean follows slow full collections.
            "heap": {k: getattr(app.heap, k, None) for k in ("freezes", "refreezes", "deep_cleans")},
            # Not gc.get_objects(): the list it returns can hold a tuple another thread is still
            # building, whose resize then fails (SystemError in tupleobject.c; it ended a run).
            "gc_counts": list(gc.get_count()),
            # Memory blocks Python holds: flat while RSS grows means the allocator (fragmentation),
            # growing with it means live objects.
            "py_blocks_k": round(sys.getallocatedblocks() / 1000, 1),
            # With SOAK_TRACEMALLOC: every byte Python allocated (small and large objects) and still
            # holds; flat while RSS grows means memory outside Python's objects.
            "traced_mb": round(tracemalloc.get_traced_memory()[0] / 2**20, 1) if tracemalloc.is_tracing() else None,
            "pods": app.store.count("Pod"),
            "screen": type(app.screen).__name__,
            "step": session.step_name,
            "context": app.context_name,
            "namespace": "*" if app.all_namespaces else app.namespace,
            "log_lines": session.log_lines(),
        }
        if os.environ.get("SOAK_TRACKED_TYPES"):
            # A diagnostic run only (what full collections walk): gc.get_objects() can fail on a
            # tuple another thread is building (see "gc_counts" above).
            import collections

            alive = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
            out["tracked"] = sum(alive.values())
            out["tracked_types"] = alive.most_common(25)
        self.cpu0, self.t_last = cpu, now
        return out


class Traced:
    """SOAK_TRACEMALLOC=S (seconds): trace allocations from the load on, snapshot at S seconds
    and at the end, and report where the memory still held grew in between (by source line).
    A diagnostic: tracing slows the app, so a run with it does not judge the budgets."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self.first: tracemalloc.Snapshot | None = None
        if after_s > 0:
            tracemalloc.start(1)

    def tick(self, t: float) -> None:
        if self.after_s > 0 and self.first is None and t >= self.after_s:
            gc.collect()
            self.first = tracemalloc.take_snapshot()

    def report_growth(self) -> None:
        if self.first is None:
            return
        gc.collect()
        top = tracemalloc.take_snapshot().compare_to(self.first, "lineno")[:30]
        report("tracemalloc", after_s=self.after_s,
               top=[{"where": str(d.traceback[0]), "size_diff_kb": round(d.size_diff / 1024, 1),
                     "count_diff": d.count_diff} for d in top])
        for d in top:
            print(f"tracemalloc growth {d.size_diff / 1024:9.1f} KiB {d.count_diff:+7d}  {d.traceback[0]}",
                  file=sys.stderr)


class Session:
    """The user's side of the cycle: logs, namespace and context switches, a key a second."""

    def __init__(self, app, pilot, args) -> None:
        self.app, self.pilot, self.args = app, pilot, args
        self.contexts = args.contexts.split(",")
        self.step_name = "start"
        self.steps_done = 0
        self.logs = None
        self.log_lines_closed = 0
        self.keys = 0

    def log_lines(self) -> int:
        """Lines received by log follows so far (all of them, open and closed)."""
        buffer = getattr(self.logs, "buffer", None)  # made when the screen mounts
        return self.log_lines_closed + (buffer.end_id if buffer is not None else 0)

    async def run_step(self) -> None:
        name = STEPS[self.steps_done % len(STEPS)]
        self.steps_done += 1
        self.step_name = name
        app = self.app
        await self.close_logs()
        if name == "logs":
            from kdash.logs.follower import LogSource
            from kdash.screens.logs import LogsScreen

            self.logs = LogsScreen(LogSource("Deployment", self.args.log_namespace, self.args.log_deployment))
            await app.push_screen(self.logs)
        elif name == "namespace":
            app.switch_namespace(self.args.namespace)
        elif name == "all-namespaces":
            app.switch_namespace(None)
        elif name == "context":
            current = app.context_name
            others = [c for c in self.contexts if c != current] or self.contexts
            app._switch_context(others[0])
        await self.pilot.pause(0.1)

    async def close_logs(self) -> None:
        if self.logs is not None:
            self.log_lines_closed = self.log_lines()
            self.logs = None
            self.app.pop_screen()
            await self.pilot.pause(0.1)

    async def press_keys(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.pilot.press("down")
            self.keys += 1
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak_app")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--contexts", required=True, help="comma-separated contexts the session switches between")
    p.add_argument("--namespace", required=True, help="the namespace the session switches to")
    p.add_argument("--log-namespace", required=True)
    p.add_argument("--log-deployment", required=True)
    p.add_argument("--pods", type=int, required=True, help="pods the store holds once loaded")
    p.add_argument("--sample", type=float, default=10.0)
    p.add_argument("--step", type=float, default=30.0)
    p.add_argument("--width", type=int, default=120)
    p.add_argument("--height", type=int, default=40)
    args = p.parse_args(argv)
    report("started", t=T_MODULE)

    from argparse import Namespace

    from kdash.app import make_app
    from kdash.config import Settings

    cli = Namespace(kubeconfig=args.kubeconfig, context=None, namespace=None, all_namespaces=True,
                    readonly=False, theme=None)
    app = make_app(cli, settings=Settings())

    async def run() -> None:
        commands: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def read_stdin() -> None:
            try:
                for line in sys.stdin:
                    if line.strip():
                        loop.call_soon_threadsafe(commands.put_nowait, json.loads(line))
            except (RuntimeError, ValueError, OSError):
                pass
            try:
                loop.call_soon_threadsafe(commands.put_nowait, {"cmd": "quit"})
            except RuntimeError:
                pass  # the loop is gone

        async with app.run_test(size=(args.width, args.height)) as pilot:
            t_start = time.monotonic()
            while app.store.count("Pod") < args.pods:
                if time.monotonic() - t_start > 600:
                    report("error", message=f"store holds {app.store.count('Pod')}/{args.pods} pods after 600 s")
                    return
                await asyncio.sleep(0.1)
            sampler = Sampler(time.monotonic())
            traced = Traced(float(os.environ.get("SOAK_TRACEMALLOC") or 0))
            app.set_interval(0.01, sampler.heart.beat)
            session = Session(app, pilot, args)
            report("loaded", t=time.monotonic(), load_s=round(time.monotonic() - t_start, 1),
                   sample=sampler.sample(app, session))
            threading.Thread(target=read_stdin, daemon=True, name="soak-stdin").start()
            stop = asyncio.Event()
            keys = asyncio.create_task(session.press_keys(stop))
            next_sample = next_step = time.monotonic()
            next_sample += args.sample
            while True:
                now = time.monotonic()
                if now >= next_step:
                    await session.run_step()
                    next_step += args.step
                if time.monotonic() >= next_sample:
                    report("sample", **sampler.sample(app, session))
                    traced.tick(time.monotonic() - sampler.t0)
                    next_sample += args.sample
                wait = max(0.0, min(next_step, next_sample) - time.monotonic())
                try:
                    msg = await asyncio.wait_for(commands.get(), timeout=wait)
                except TimeoutError:
                    continue
                if msg.get("cmd") == "quit":
                    break
            stop.set()
            await keys
            await session.close_logs()
            traced.report_growth()
            report("done", steps=session.steps_done, keys=session.keys, log_lines=session.log_lines(),
                   heap_refreezes=getattr(app.heap, "refreezes", None),
                   heap_deep_cleans=getattr(app.heap, "deep_cleans", None))

    try:
        asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - the parent needs to hear about it
        import traceback

        traceback.print_exc()
        report("error", message=f"{type(exc).__name__}: {exc}")
        return 1
    report("final", mem=proc_status(), cpu=list(os.times())[:2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
