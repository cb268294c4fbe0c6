"""The logs screen under a synthetic flood (no cluster): bounded memory, a UI that keeps up."""

from __future__ import annotations

import threading
import time

from textual.app import App

from kdash.kube.store import Store
from kdash.logs.buffer import LogLine
from kdash.logs.follower import LogSource
from kdash.logs.stream import LogOptions, Target
from kdash.logs.text import sanitize
from kdash.screens.logs import LogsScreen

POD = LogSource("Pod", "default", "flood")


class LogsOnlyApp(App[None]):
    """Just the logs screen over a one-pod store: measures the screen, not the dashboard."""

    def __init__(self, screen: LogsScreen) -> None:
        super().__init__()
        self.logs = screen

    def on_mount(self) -> None:
        self.push_screen(self.logs)


def one_pod_store() -> Store:
    store = Store()
    store.upsert("Pod", {"metadata": {"name": "flood", "namespace": "default", "uid": "u1", "resourceVersion": "1"},
                         "spec": {"containers": [{"name": "c"}]},
                         "status": {"containerStatuses": [{"name": "c", "containerID": "containerd://1",
                                                           "state": {"running": {}}}]}})
    return store


def logs_app(rate: int, buffer_lines: int) -> LogsOnlyApp:
    return LogsOnlyApp(LogsScreen(POD, store=one_pod_store(), factory=flood(rate), buffer_lines=buffer_lines))


class FloodStream:
    """A thread writing `rate` lines per second in 5 ms batches, like a busy ContainerStream."""

    def __init__(self, target: Target, options: LogOptions, sink, rate: int):
        self.target, self.sink, self.rate = target, sink, rate
        self.stopped = False

    def start(self):
        threading.Thread(target=self.run, daemon=True).start()
        return self

    def run(self) -> None:
        sent, started, t = 0, time.perf_counter(), self.target
        while not self.stopped:
            due = int((time.perf_counter() - started) * self.rate)
            if due > sent:
                self.sink([LogLine(t.pod, t.container, sanitize(f"{t.pod} {t.container} line {n} payload"),
                                   "2024-03-01T00:00:00.123456789Z", t.color) for n in range(sent, due)])
                sent = due
            time.sleep(0.005)

    def stop(self) -> None:
        self.stopped = True

    @property
    def done(self) -> bool:
        return self.stopped


def flood(rate: int):
    return lambda target, options, sink: FloodStream(target, options, sink, rate)


def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


async def until(pilot, predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


async def test_flood_is_bounded_and_the_ui_keeps_up(monkeypatch):
    ticks: list[float] = []
    tick = LogsScreen.tick

    def timed(self):
        started = time.perf_counter()
        tick(self)
        ticks.append(time.perf_counter() - started)

    monkeypatch.setattr(LogsScreen, "tick", timed)
    app = logs_app(10_000, buffer_lines=10_000)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.logs
        await until(pilot, lambda: len(screen.buffer) == 10_000)
        beats: list[float] = []
        app.set_interval(0.01, lambda: beats.append(time.perf_counter()))
        ticks.clear()
        first, started, memory = screen.buffer.end_id, time.perf_counter(), []
        for _ in range(16):
            await pilot.pause(0.25)
            memory.append(rss())
        rate = (screen.buffer.end_id - first) / (time.perf_counter() - started)
        gaps = sorted(b - a for a, b in zip(beats, beats[1:]))
        ticks.sort()
        print(f"\nsynthetic flood: {rate:.0f} lines/s into the view; tick p50 {ticks[len(ticks) // 2] * 1000:.1f} ms"
              f" max {ticks[-1] * 1000:.1f} ms; heartbeat gap p99 {gaps[int(len(gaps) * 0.99)] * 1000:.0f} ms"
              f" max {gaps[-1] * 1000:.0f} ms; RSS {min(memory[4:]) / 2**20:.1f}-{max(memory[4:]) / 2**20:.1f} MiB")
        assert len(screen.buffer) == 10_000 and screen.view.row_count == 10_000
        assert screen.buffer.dropped >= screen.buffer.end_id - 10_000
        assert rate > 5_000
        assert ticks[len(ticks) // 2] < 0.02  # the UI thread's own work per batch of ~500 lines
        assert max(memory[4:]) - min(memory[4:]) < 16 * 2**20
        assert screen.view.visible_text()[-1].endswith("payload")


async def test_paused_view_keeps_its_lines_until_they_fall_off_the_buffer():
    app = logs_app(400, buffer_lines=300)
    async with app.run_test(size=(100, 20)) as pilot:
        screen = app.logs
        await until(pilot, lambda: len(screen.buffer) == 300)
        await pilot.press("p")
        await pilot.pause()
        shown = screen.view.visible_text()
        top_id = screen.view.line_ids[round(screen.view.scroll_y)]
        # While the lines on screen are still held, the view stays on them.
        await until(pilot, lambda: screen.buffer.first_id > top_id - 200)
        if screen.buffer.first_id <= top_id:
            assert screen.view.visible_text() == shown
        # Once they fell off, the view shows the oldest lines still held.
        await until(pilot, lambda: screen.buffer.first_id > top_id + 50)
        await pilot.pause(0.1)
        oldest = screen.view.plain(screen.buffer.get(screen.view.line_ids[0]))
        assert screen.view.visible_text()[0] == oldest and not screen.view.follow
        await pilot.press("G")
        await pilot.pause(0.1)
        assert screen.view.follow and screen.view.scroll_y == screen.view.max_scroll_y
