"""Pilot tests of the logs screen on fixture data with scripted streams: toggles, search, filter, save."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from kdash.logs.buffer import LogLine
from kdash.logs.follower import LogSource
from kdash.logs.stream import LogOptions, Target
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.logs import LogsScreen
from kdash.screens.modals import PickScreen, PromptScreen
from kdash.widgets.log_view import LogView
from tests.ui.fixture_app import fixture_app

# Running pods of deployment "web" in tests/unit/fixtures/cluster.json (a third one is Pending).
WEB_PODS = {"web-7d9c6b5f4-abcde", "web-7d9c6b5f4-fghij", "web-5b8f7c9d6-pqrst"}


class ScriptedStream:
    """Writes `count` deterministic lines when started; more with `say`."""

    def __init__(self, target: Target, options: LogOptions, sink, count: int):
        self.target, self.options, self.sink, self.count = target, options, sink, count
        self.stopped = False

    def start(self):
        self.say(*(f"line {i}" for i in range(self.count)))
        return self

    def say(self, *texts: str) -> None:
        t = self.target
        self.sink([LogLine(t.pod, t.container, text, f"2024-03-01T00:00:{i % 60:02d}.5Z", t.color)
                   for i, text in enumerate(texts)])

    def stop(self):
        self.stopped = True

    @property
    def done(self) -> bool:
        return self.stopped


class Factory:
    def __init__(self, count: int = 30):
        self.count = count
        self.streams: list[ScriptedStream] = []

    def __call__(self, target, options, sink):
        stream = ScriptedStream(target, options, sink, self.count)
        self.streams.append(stream)
        return stream

    def live(self) -> list[ScriptedStream]:
        return [s for s in self.streams if not s.stopped]


async def until(pilot, predicate, timeout: float = 5.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {message}")


async def open_logs(app, pilot, factory, source=LogSource("Deployment", "default", "web")) -> LogsScreen:
    await pilot.pause()
    screen = LogsScreen(source, factory=factory, clock=lambda: datetime(2024, 3, 1, 12, 0, 0))
    await app.push_screen(screen)
    await until(pilot, lambda: len(screen.buffer) >= len(WEB_PODS) * factory.count, message="lines")
    return screen


def title(screen: LogsScreen) -> str:
    return str(screen.query_one("#logs-title").render())


async def test_deployment_logs_show_every_running_pod_with_prefixes_and_follow():
    app, factory = fixture_app(), Factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_logs(app, pilot, factory)
        view = screen.view
        assert {s.target.pod for s in factory.live()} == WEB_PODS
        assert "pods 3/4 (1 pending)" in title(screen) and "following" in title(screen)
        # Following: the newest line is on screen, prefixed with its pod.
        await pilot.pause()
        newest = view.plain(screen.buffer.get(screen.buffer.end_id - 1))
        assert newest in view.visible_text() and newest.split(" ")[0] in WEB_PODS
        assert view.scroll_y == view.max_scroll_y > 0
        await pilot.press("t")
        await pilot.pause()
        assert view.visible_text()[-1].split(" ")[1].startswith("2024-03-01T00:00:")
        await pilot.press("t")
        assert view.visible_text()[-1] == newest


async def test_pause_keeps_the_view_while_lines_arrive_and_G_follows_again():
    app, factory = fixture_app(), Factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_logs(app, pilot, factory)
        view = screen.view
        await pilot.press("p")
        assert not view.follow and "PAUSED" in title(screen)
        shown = view.visible_text()
        before = len(screen.buffer)
        factory.live()[0].say(*(f"later {i}" for i in range(20)))
        await until(pilot, lambda: len(screen.buffer) == before + 20, message="new lines")
        await pilot.pause()
        assert view.visible_text() == shown
        await pilot.press("G")
        await pilot.pause()
        assert view.follow and view.visible_text()[-1].endswith("later 19")


async def test_cursor_up_pauses_and_copy_takes_the_current_line():
    app, factory = fixture_app(), Factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_logs(app, pilot, factory)
        view = screen.view
        await pilot.press("up", "up")
        assert not view.follow
        expected = view.plain(screen.buffer.get(screen.buffer.end_id - 3))
        await pilot.press("y")
        assert app.clipboard == expected


async def test_search_highlights_and_jumps_between_matches():
    app, factory = fixture_app(), Factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_logs(app, pilot, factory)
        view = screen.view
        await pilot.press("slash")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"line 7", "enter")
        await pilot.pause()
        assert view.search == "line 7" and not view.follow
        first = view.current_line()
        assert first is not None and "line 7" in first.text
        # The newest match comes first while following; n / N walk between the 3 pods' matches.
        await pilot.press("N")
        second = view.current_line()
        assert "line 7" in second.text and second.pod != first.pod
        await pilot.press("n")
        assert view.current_line() == first
        assert view.count_matches() == 3 * 1  # "line 7" only (no "line 70" with 30 lines)
        # The match is drawn with the match style on the cursor row.
        row = next(y for y in range(view.size.height) if view.visible_text()[y] == view.plain(first))
        strip = view.render_line(row)
        match_style = view.get_component_rich_style("log-view--match", partial=True)
        assert any(seg.text == "line 7" and seg.style.bgcolor == match_style.bgcolor for seg in strip)
        await pilot.press("slash", *"nothing-like-this", "enter")
        await pilot.pause()
        assert any("not found" in n.message for n in app._notifications)


async def test_filter_includes_excludes_and_clears():
    app, factory = fixture_app(), Factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_logs(app, pilot, factory)
        view = screen.view
        total = len(view.line_ids)
        await pilot.press("f", *"line 2", "enter")
        await pilot.pause()
        kept = {screen.buffer.get(i).text for i in view.line_ids if not screen.buffer.get(i).marker}
        assert kept == {"line 2"} | {f"line {i}" for i in range(20, 30)}
        assert "filter line 2" in title(screen)
        await pilot.press("f")
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        prompt.query_one("Input").value = "!web-5b8f7c9d6-pqrst"
        await pilot.press("enter")
        await pilot.pause()
        pods = {screen.buffer.get(i).pod for i in view.line_ids}
        assert pods == WEB_PODS - {"web-5b8f7c9d6-pqrst"}
        await pilot.press("F")
        assert len(view.line_ids) == total


async def test_wrap_toggles_rows_for_long_lines():
    app, factory = fixture_app(), Factory(count=5)
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await open_logs(app, pilot, factory)
        view = screen.view
        factory.live()[0].say("x" * 300)
        await until(pilot, lambda: screen.buffer.get(screen.buffer.end_id - 1).text == "x" * 300)
        lines = len(view.line_ids)
        assert view.row_count == lines and view.virtual_size.width > 300
        await pilot.press("w")
        await pilot.pause()
        assert view.row_count >= lines + 300 // view.size.width
        assert view.virtual_size.width == view.size.width
        await pilot.press("w")
        assert view.row_count == lines


async def test_since_previous_and_tail_restart_the_streams_with_new_options():
    app, factory = fixture_app(), Factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_logs(app, pilot, factory)
        first = factory.live()
        await pilot.press("s")
        await until(pilot, lambda: len(screen.buffer) >= 3 * factory.count)
        assert all(s.stopped for s in first)
        assert {s.options.since_seconds for s in factory.live()} == {60}
        assert "since 1m" in title(screen) and len(screen.buffer) == 3 * factory.count  # no stale lines
        await pilot.press("s")
        assert {s.options.since_seconds for s in factory.live()} == {300}

        await pilot.press("L")
        prompt = app.screen
        prompt.query_one("Input").value = "20"
        await pilot.press("enter")
        await pilot.pause()
        assert {s.options.tail_lines for s in factory.live()} == {20} and "tail 20" in title(screen)
        await pilot.press("L")
        app.screen.query_one("Input").value = "lots"
        await pilot.press("enter")
        assert any("not a number" in n.message for n in app._notifications)

        await pilot.press("P")
        await pilot.pause()
        # The fixture's web pods never restarted: no previous container to follow.
        assert factory.live() == [] and "previous" in title(screen)
        assert any("no previous" in screen.buffer.get(i).text for i in screen.view.line_ids)
        await pilot.press("P")
        await pilot.pause()
        assert len(factory.live()) == 3 and not factory.live()[0].options.previous


async def test_container_picker_and_save(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app, factory = fixture_app(), Factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_logs(app, pilot, factory)
        await pilot.press("c")
        picker = app.screen
        assert isinstance(picker, PickScreen)
        assert [value for value, _ in picker._choices] == ["*", "web"]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert screen.container == "web" and "container web" in title(screen)
        assert {s.target.container for s in factory.live()} == {"web"}

        await pilot.press("f", *"line 1", "enter")
        await pilot.press("S")
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        default = prompt.query_one("Input").value
        assert default == "./kdash-logs-web-20240301-120000.log"
        await pilot.press("enter")
        await pilot.pause()
        saved = (tmp_path / "kdash-logs-web-20240301-120000.log").read_text().splitlines()
        assert saved == screen.view.plain_lines() and len(saved) >= 3 * 11
        assert all("line 1" in line or "—" in line for line in saved)


async def test_back_stops_the_streams_and_returns_to_the_dashboard():
    app, factory = fixture_app(), Factory()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_logs(app, pilot, factory)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert factory.live() == []


async def test_single_pod_has_no_prefix_and_missing_source_says_so():
    app, factory = fixture_app(), Factory(count=3)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = LogsScreen(LogSource("Pod", "default", "web-7d9c6b5f4-abcde"), factory=factory)
        await app.push_screen(screen)
        await until(pilot, lambda: len(screen.buffer) == 3)
        assert screen.view.visible_text() == ["line 0", "line 1", "line 2"]
        await pilot.press("q")
        await pilot.pause()
        missing = LogsScreen(LogSource("Service", "default", "nope"), factory=factory)
        await app.push_screen(missing)
        await until(pilot, lambda: len(missing.buffer) == 1)
        assert "not found" in title(missing)
        assert missing.view.visible_text() == ["— service/nope not found in namespace default —"]
        assert isinstance(missing.view, LogView)


async def test_without_a_connection_the_screen_says_so():
    app = fixture_app()  # the fixture app never connects
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = LogsScreen(LogSource("Deployment", "default", "web"))
        await app.push_screen(screen)
        await until(pilot, lambda: len(screen.buffer) == 1)
        assert screen.view.visible_text() == ["— not connected to a cluster —"]
        assert screen.follower is None and "streams 0" in title(screen)
