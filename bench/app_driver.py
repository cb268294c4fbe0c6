"""The kdash process under test: the real app, headless (Textual's run_test), instrumented.

Started by bench.run as `python -m bench.app_driver ...`. Reads commands (JSON lines) on stdin,
writes reports (JSON lines) on its original stdout; anything else printed goes to stderr. All
times are time.monotonic() (CLOCK_MONOTONIC, one clock for every process on the machine), so a
write timed by the parent compares directly with a paint timed here.

The start is the one `kdash` makes (kdash/boot.py): connect and start the Watcher after importing
only the kube layer (milestones "connected" and "watching"), then import Textual and the screens
while the lists run (`t_imported` = when those imports ended), then build the app, which adopts
the running watch. A kdash from before the early start (--kdash-path) connects on mount instead.

What "on screen" means here. The app runs with Textual's headless driver: every frame is still
laid out and rendered to strips by the compositor (widgets' render_line runs for the dirty
regions), only the final conversion to escape sequences and the write to a terminal are skipped.
`post_display_hook` runs right after each frame, so "painted" = the first frame composed after
the change. A Deployment scrolled out of view has nothing to repaint: for it, "painted" is the
first frame after its label changed in the widget (what a user would see on scrolling there).
"""

from __future__ import annotations

import time

T_MODULE = time.monotonic()

import argparse  # noqa: E402
import bisect  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections import deque  # noqa: E402

_REPORT = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # stray prints must not corrupt the report stream


def report(ev: str, **fields) -> None:
    _REPORT.write(json.dumps({"ev": ev, **fields}) + "\n")
    _REPORT.flush()


def proc_status() -> dict[str, float]:
    """VmRSS / VmHWM of this process in MiB."""
    out = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                out[name] = int(value.split()[0]) / 1024
    return out


class Timings:
    """Durations (ms) of instrumented calls, by name."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.enabled = True

    def add(self, name: str, ms: float) -> None:
        if self.enabled:
            self.samples.setdefault(name, []).append(ms)

    def wrap(self, owner, attr: str, name: str) -> None:
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(name, (time.perf_counter() - t0) * 1000)

        setattr(owner, attr, timed)

    def take(self) -> dict[str, list[float]]:
        samples, self.samples = self.samples, {}
        return {k: [round(v, 2) for v in vs] for k, vs in samples.items()}


class GcWatch:
    """Durations of the cyclic garbage collector's runs (a full one can stall the UI)."""

    def __init__(self) -> None:
        self.runs: list[tuple[int, float]] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.runs.append((info["generation"], (time.perf_counter() - self._start) * 1000))

    def take(self) -> dict:
        runs, self.runs = self.runs, []
        out = {}
        for gen in (0, 1, 2):
            ms = [d for g, d in runs if g == gen]
            out[f"gen{gen}"] = {"n": len(ms), "max_ms": round(max(ms), 1) if ms else 0.0,
                                "total_ms": round(sum(ms), 1)}
        return out


class Probe:
    """UI-thread bookkeeping: labels set in the tree widget, frames, key probes, heartbeat."""

    def __init__(self, expected: list[str]) -> None:
        self.expected = expected
        self.expected_counts = {k: sum(1 for e in expected if e.startswith(k + "/"))
                                for k in ("Deployment", "ReplicaSet", "Pod")}
        self.tree = None
        self.first_tree: float | None = None
        self.store_complete: float | None = None
        self.milestones: dict[str, float] = {}
        self.pending: dict[str, deque] = {}
        self.unpainted: list[dict] = []
        self.done: list[dict] = []
        self.superseded: list[dict] = []
        self.label_time: dict[str, float] = {}
        self.displays: deque[float] = deque(maxlen=1024)
        self.frames = 0
        self.key: dict | None = None
        self.key_event = None
        self.beat_last: float | None = None
        self.beat_max = 0.0
        self.beat_over = 0
        self._regex: dict[str, re.Pattern] = {}
        # Deployment key → (monotonic time applied to the store, spec.replicas), from the reflector.
        self.arrivals: dict[str, deque] = {}

    # -- hooks (UI thread) ---------------------------------------------------------------

    def on_label(self, key: str, label: str) -> None:
        t = time.monotonic()
        self.label_time[key] = t
        queue = self.pending.get(key)
        if queue:
            self._match(key, queue, label, t)

    def on_display(self) -> None:
        t = time.monotonic()
        self.frames += 1
        self.displays.append(t)
        if self.unpainted:
            for exp in self.unpainted:
                exp["t_paint"] = t
            self.done.extend(self.unpainted)
            self.unpainted = []
        if self.first_tree is None:
            self._check_first_tree(t)
        key = self.key
        if key is not None and key.get("t_paint") is None and self.tree is not None \
                and self.tree.cursor_line != key["line0"]:
            key["t_paint"] = t
            if self.key_event is not None:
                self.key_event.set()

    def on_cursor(self) -> None:
        if self.key is not None and self.key.get("t_handled") is None:
            self.key["t_handled"] = time.monotonic()

    def beat(self) -> None:
        t = time.monotonic()
        if self.beat_last is not None:
            gap = t - self.beat_last
            self.beat_max = max(self.beat_max, gap)
            if gap > 0.1:
                self.beat_over += 1
        self.beat_last = t

    def beat_reset(self) -> None:
        self.beat_last, self.beat_max, self.beat_over = None, 0.0, 0

    # -- expectations ------------------------------------------------------------------------

    def arrived(self, exp: dict) -> None:
        """When the watch event carrying a scale write reached the store (reflector thread)."""
        value = exp.get("value")
        queue = self.arrivals.get(exp["key"])
        if value is None or not queue:
            return
        while queue:
            t, replicas = queue.popleft()
            if replicas == value:
                exp["t_arrive"] = t
                return

    def expect(self, msg: dict) -> None:
        exp = {k: msg[k] for k in ("seq", "type", "key", "pattern", "t")}
        exp["value"] = msg.get("value")
        key = exp["key"]
        queue = self.pending.setdefault(key, deque())
        queue.append(exp)
        if len(queue) > 1 or self.tree is None:
            return
        node = self.tree.node(key)
        if node is not None and self._compiled(exp["pattern"]).search(node.label):
            # The watch event beat the write's response here: it showed before we knew of it.
            queue.popleft()
            del self.pending[key]
            exp["t_label"] = self.label_time.get(key, time.monotonic())
            exp["early"] = True
            self.arrived(exp)
            i = bisect.bisect_left(self.displays, exp["t_label"])
            if i < len(self.displays):
                exp["t_paint"] = self.displays[i]
                self.done.append(exp)
            else:
                self.unpainted.append(exp)

    def _compiled(self, pattern: str) -> re.Pattern:
        regex = self._regex.get(pattern)
        if regex is None:
            regex = self._regex[pattern] = re.compile(pattern)
        return regex

    def _match(self, key: str, queue: deque, label: str, t: float) -> None:
        for i, exp in enumerate(queue):
            if self._compiled(exp["pattern"]).search(label):
                for _ in range(i):  # older writes to this object that never showed
                    self.superseded.append(queue.popleft())
                queue.popleft()
                exp["t_label"] = t
                self.arrived(exp)
                self.unpainted.append(exp)
                break
        if not queue:
            del self.pending[key]

    def _check_first_tree(self, t: float) -> None:
        tree = self.tree
        if tree is None or len(tree._node_by_key) < len(self.expected):
            return
        held = tree._node_by_key
        if all(k in held for k in self.expected):
            self.first_tree = t

    def churn_results(self) -> dict:
        done, self.done = self.done, []
        behind = [e for q in self.pending.values() for e in q] + self.unpainted
        superseded, self.superseded = self.superseded, []
        self.pending, self.unpainted = {}, []

        def ms(a: float, b: float) -> float:
            return round(max(0.0, (a - b) * 1000), 2)

        return {
            "writes": [{"type": e["type"], "e2l": ms(e["t_label"], e["t"]), "e2s": ms(e["t_paint"], e["t"]),
                        "e2a": ms(e["t_arrive"], e["t"]) if "t_arrive" in e else None,
                        "early": bool(e.get("early"))} for e in done],
            "behind": [{"type": e["type"], "key": e["key"], "seq": e["seq"]} for e in behind],
            "superseded": [{"type": e["type"], "key": e["key"], "seq": e["seq"]} for e in superseded],
        }


def build_app_class(KdashApp, probe: Probe, timings: Timings):
    class BenchApp(KdashApp):
        """KdashApp with hooks that only observe: label styling, frames, connection, flushes."""

        def style_node(self, node):
            text = super().style_node(node)
            probe.on_label(node.key, node.label)
            return text

        def post_display_hook(self) -> None:
            probe.on_display()  # first: what the hook does next (a held flush released) is not the frame
            super().post_display_hook()

        def _connected(self, *args):  # (connection, version), newer kdash: (generation, connection, version)
            probe.milestones.setdefault("connected", time.monotonic())
            super()._connected(*args)

        def _flush_changes(self) -> None:
            probe.milestones.setdefault("first_flush", time.monotonic())
            t0 = time.perf_counter()
            try:
                super()._flush_changes()
            finally:
                timings.add("flush", (time.perf_counter() - t0) * 1000)

        def _refresh_ages(self) -> None:
            t0 = time.perf_counter()
            try:
                super()._refresh_ages()
            finally:
                timings.add("age_refresh", (time.perf_counter() - t0) * 1000)

    return BenchApp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.app_driver")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--expected", required=True, help="JSON file: the keys of a complete tree")
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--first-tree-only", action="store_true")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    report("started", t=T_MODULE)

    import gc
    from argparse import Namespace

    with open(args.expected) as handle:
        expected = json.load(handle)
    probe = Probe(expected)
    timings = Timings()
    gc_watch = GcWatch()
    gc.callbacks.append(gc_watch)

    # The store's instrumentation goes in before the store exists: with the early start the
    # reflectors apply their lists while the UI is still importing.
    from kdash.kube.store import Store

    original_apply = Store.apply

    def apply(self, kind, events, *, stop=None):
        events = list(events)
        changed = original_apply(self, kind, events, stop=stop)
        if kind == "Deployment":
            t = time.monotonic()
            for _, obj in events:
                meta = obj.get("metadata") or {}
                key = f"Deployment/{meta.get('namespace')}/{meta.get('name')}"
                probe.arrivals.setdefault(key, deque(maxlen=64)).append(
                    (t, (obj.get("spec") or {}).get("replicas")))
        return changed

    Store.apply = apply
    cli = Namespace(kubeconfig=args.kubeconfig, context=None, namespace=None, all_namespaces=True,
                    readonly=False, theme=None)
    import importlib.util

    early = None
    if importlib.util.find_spec("kdash.boot") is not None:  # (--kdash-path: an older kdash connects on mount)
        from kdash.boot import start_watching

        # What `kdash` does: connect and start the lists, then import the UI while they run.
        try:
            early = start_watching(cli)
        except Exception as exc:  # noqa: BLE001 - the parent needs to hear about it
            report("error", message=f"early start: {type(exc).__name__}: {exc}")
            return 1
        probe.milestones["connected"] = early.connected_at
        probe.milestones["watching"] = early.watching_at

    import asyncio

    from textual import events
    from textual.screen import Screen

    from kdash.app import KdashApp, make_app
    from kdash.config import Settings
    from kdash.render import workloads as render_workloads
    from kdash.widgets.resource_tree import ResourceTree

    t_imported = time.monotonic()  # the UI's modules loaded (the early start's lists run meanwhile)
    timings.wrap(render_workloads, "build_workload_tree", "build_tree")
    if hasattr(render_workloads, "build_workload_tree_from"):  # the dashboard's path since the store feeds
        timings.wrap(render_workloads, "build_workload_tree_from", "build_tree")
    timings.wrap(ResourceTree, "patch", "patch")
    timings.wrap(Screen, "_compositor_refresh", "frame")  # compose + render one frame

    app_class = build_app_class(KdashApp, probe, timings)
    app = make_app(cli, app_class=app_class, settings=Settings(), **({"early": early} if early else {}))

    async def run() -> None:
        loop = asyncio.get_running_loop()
        commands: asyncio.Queue = asyncio.Queue()

        def dispatch(msg: dict) -> None:
            if msg.get("cmd") == "expect":
                probe.expect(msg)
            else:
                commands.put_nowait(msg)

        def read_stdin() -> None:
            try:
                for line in sys.stdin:
                    if line.strip():
                        loop.call_soon_threadsafe(dispatch, json.loads(line))
                loop.call_soon_threadsafe(dispatch, {"cmd": "quit"})
            except (RuntimeError, ValueError, OSError):
                pass  # the loop closed while we read: the app is exiting

        async with app.run_test(size=(args.width, args.height)) as pilot:
            probe.milestones["mounted"] = time.monotonic()
            app.set_interval(0.01, probe.beat)
            tree = app.dashboard.tree
            probe.tree = tree
            original_down = tree.action_cursor_down

            def cursor_down() -> None:
                original_down()
                probe.on_cursor()

            tree.action_cursor_down = cursor_down
            deadline = time.monotonic() + args.timeout
            while probe.first_tree is None:
                if probe.store_complete is None and all(
                        app.store.count(k) >= n for k, n in probe.expected_counts.items()):
                    probe.store_complete = time.monotonic()
                if time.monotonic() > deadline:
                    report("error", message="timed out waiting for the first complete tree",
                           held=len(tree._node_by_key), expected=len(expected))
                    return
                await asyncio.sleep(0.01)
            report("first_tree", t=probe.first_tree, t_module=T_MODULE, t_imported=t_imported,
                   t_store_complete=probe.store_complete, milestones=probe.milestones,
                   nodes=len(tree._node_by_key), lines=len(tree._tree_lines), mem=proc_status(),
                   timings=timings.take(), gc=gc_watch.take(), gc_tracked=len(gc.get_objects()))
            if args.first_tree_only:
                return
            threading.Thread(target=read_stdin, daemon=True, name="bench-stdin").start()
            key_task = None
            key_stop = asyncio.Event()
            key_results: list[dict] = []

            async def key_probes(interval: float) -> None:
                probe.key_event = asyncio.Event()
                while not key_stop.is_set():
                    started = time.monotonic()
                    probe.key_event.clear()
                    probe.key = {"line0": tree.cursor_line, "t0": started, "t_handled": None, "t_paint": None}
                    event = events.Key("down", None)
                    event.set_sender(app)
                    app._driver.send_message(event)
                    try:
                        await asyncio.wait_for(probe.key_event.wait(), timeout=5)
                    except TimeoutError:
                        pass
                    key, probe.key = probe.key, None
                    key_results.append({
                        "handled": (None if key["t_handled"] is None
                                    else round((key["t_handled"] - key["t0"]) * 1000, 2)),
                        "paint": None if key["t_paint"] is None else round((key["t_paint"] - key["t0"]) * 1000, 2),
                    })
                    rest = interval - (time.monotonic() - started)
                    if rest > 0:
                        try:
                            await asyncio.wait_for(key_stop.wait(), timeout=rest)
                        except TimeoutError:
                            pass

            while True:
                msg = await commands.get()
                cmd = msg.get("cmd")
                if cmd == "quit":
                    # Cyclic garbage that sat frozen (kdash/heap.py): collect what is not frozen,
                    # then unfreeze and collect again; the second pass finds only the former.
                    gc.collect()
                    frozen = gc.get_freeze_count()
                    gc.unfreeze()
                    if os.environ.get("BENCH_TRACKED_TYPES"):  # what the collector walks, by type
                        import collections

                        alive = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
                        print("tracked objects by type:", alive.most_common(40), file=sys.stderr)
                    if os.environ.get("BENCH_GARBAGE_TYPES"):
                        gc.set_debug(gc.DEBUG_SAVEALL)
                    t0 = time.perf_counter()
                    found = gc.collect()
                    if os.environ.get("BENCH_GARBAGE_TYPES"):
                        import collections

                        kinds = collections.Counter(type(o).__qualname__ for o in gc.garbage)
                        print("frozen garbage by type:", kinds.most_common(25), file=sys.stderr)
                        gc.set_debug(0)
                    report("leak", frozen_objects=frozen, garbage_found=found,
                           full_collection_ms=round((time.perf_counter() - t0) * 1000, 1),
                           # (getattr: --kdash-path may measure a kdash from before these counters)
                           refreezes=getattr(app.heap, "refreezes", None),
                           deep_cleans=getattr(app.heap, "deep_cleans", None))
                    break
                if cmd == "status":
                    report("status", mem=proc_status(), frames=probe.frames, nodes=len(tree._node_by_key),
                           timings=timings.take(), gc=gc_watch.take())
                elif cmd == "churn_start":
                    probe.beat_reset()
                    timings.take()
                    gc_watch.take()
                    probe.done, probe.superseded = [], []
                    key_stop.clear()
                    key_results.clear()
                    key_task = asyncio.create_task(key_probes(float(msg.get("key_interval", 0.25))))
                    report("churn_started", t=time.monotonic())
                elif cmd == "churn_end":
                    # The parent says when its last write returned; allow `grace` seconds more.
                    key_stop.set()
                    if key_task is not None:
                        await key_task
                    until = float(msg["t_end"]) + float(msg.get("grace", 2.0))
                    while time.monotonic() < until:
                        await asyncio.sleep(0.05)
                    results = probe.churn_results()
                    report("churn", **results, keys=list(key_results), max_stall_ms=round(probe.beat_max * 1000, 1),
                           stalls_over_100ms=probe.beat_over, mem=proc_status(), timings=timings.take(),
                           nodes=len(tree._node_by_key), gc=gc_watch.take(),
                           # frozen objects are tracked too, only skipped by collections until a deep clean
                           gc_tracked=len(gc.get_objects()) + gc.get_freeze_count(),
                           gc_frozen=gc.get_freeze_count())
                elif cmd == "logs":
                    gc_watch.take()
                    report("logs", **await logs_phase(app, pilot, probe, msg), gc=gc_watch.take())
                else:
                    report("error", message=f"unknown command {cmd!r}")

    async def logs_phase(app, pilot, probe: Probe, msg: dict) -> dict:
        from kdash.logs.follower import LogSource
        from kdash.screens.logs import LogsScreen

        screen = LogsScreen(LogSource("Deployment", msg["namespace"], msg["name"]))
        await app.push_screen(screen)
        t0 = time.monotonic()
        warmup = float(msg.get("warmup", 15))
        # Fill the buffer first: the steady state (evicting as fast as lines come) is what lasts.
        while len(screen.buffer) < screen.buffer.capacity and time.monotonic() - t0 < warmup:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        buffer = screen.buffer

        def queue_dropped() -> int:
            return buffer.dropped - max(0, buffer.end_id - buffer.capacity)

        end0, dropped0 = buffer.end_id, queue_dropped()
        probe.beat_reset()
        rss: list[float] = []
        start = time.monotonic()
        seconds = float(msg.get("seconds", 10))
        while time.monotonic() - start < seconds:
            await asyncio.sleep(0.25)
            rss.append(proc_status()["VmRSS"])
        elapsed = time.monotonic() - start
        result = {
            "lines": buffer.end_id - end0,
            "seconds": round(elapsed, 2),
            "lines_per_s": round((buffer.end_id - end0) / elapsed, 1),
            "queue_dropped": queue_dropped() - dropped0,
            "max_stall_ms": round(probe.beat_max * 1000, 1),
            "stalls_over_100ms": probe.beat_over,
            "warmup_s": round(start - t0, 1),
            "buffer": len(buffer),
            "capacity": buffer.capacity,
            "rss_mb": [round(min(rss), 1), round(max(rss), 1)],
            "rss_first_last_mb": [round(rss[0], 1), round(rss[-1], 1)],
            "following": bool(screen.view.follow),
            "last_line": (screen.view.visible_text() or [""])[-1][:120],
        }
        app.pop_screen()
        await pilot.pause(0.2)
        return result

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
