"""Prompt input as a terminal delivers it: several keys in one read, through Textual's real parser."""

from __future__ import annotations

import sys
import time

from textual.drivers.linux_driver import LinuxDriver
from textual.widgets import Input

from kdash.screens.modals import PromptScreen
from kdash.widgets.paste_parser import PASTE_SETTLE, PasteSafeParser
from tests.ui.fixture_app import fixture_app


async def feed(pilot, data: str) -> None:
    """What the Linux driver's input thread does with one read: parse it and hand every event over,
    then tick the parser once the input is quiet."""
    app = pilot.app
    parser = sys.modules[LinuxDriver.__module__].XTermParser()
    assert isinstance(parser, PasteSafeParser)  # the parser kdash's driver runs
    for event in parser.feed(data):
        app._driver.process_message(event)
    time.sleep(PASTE_SETTLE)
    for event in parser.tick():
        app._driver.process_message(event)
    await pilot.pause()
    await pilot.pause()


async def test_backspace_then_digit_in_one_read_scales_to_the_digit():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        web = app.store.get("Deployment", "default", "web")
        replicas = str(web["spec"]["replicas"])
        assert len(replicas) == 1
        assert app.screen.tree.select_key("Deployment/default/web")
        app.writable = lambda action, kind=None: True
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        field = app.screen.query_one(Input)
        assert field.value == replicas and field.cursor_position == len(replicas)
        await feed(pilot, "\x7f4")
        assert field.value == "4"
        await feed(pilot, "\x7f\x7f12\x1b[D\x7f3")  # left arrow then backspace, in the same read
        assert field.value == "32"


async def test_pasted_control_characters_are_not_stored():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.push_screen(PromptScreen("Image"))
        await pilot.pause()
        field = app.screen.query_one(Input)
        await feed(pilot, "\x1b[200~ng\x1b[31minx\x1b[0m:1.\x072\x9b7\tx\nsecond line\x1b[201~")
        assert field.value == "nginx:1.27 x"


async def test_an_end_marker_inside_a_paste_neither_submits_nor_types_keys():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        prompt = PromptScreen("Image")
        app.push_screen(prompt)
        await pilot.pause()
        field = prompt.query_one(Input)
        await feed(pilot, "\x1b[200~nginx\x1b[201~\r\x1bq\x1b\rs\x1b[201~")
        assert app.screen is prompt and field.value == "nginx"
        await feed(pilot, "\r")  # the user's own enter, later, submits
        assert app.screen is not prompt


def test_paste_parser_passes_keys_and_splits_reads_like_textual():
    parser = PasteSafeParser()
    keys = [e.key for e in parser.feed("a\x7f4\x1b[A") if hasattr(e, "key")]
    assert keys == ["a", "backspace", "4", "up"]
    events = list(parser.feed("x\x1b[200~one\x1b[20")) + list(parser.feed("1~two\x1b[201~"))
    assert [getattr(e, "key", None) for e in events] == ["x"]
    time.sleep(PASTE_SETTLE)
    tail = list(parser.tick())
    assert [e.text for e in tail if hasattr(e, "text") and not hasattr(e, "key")] == ["one\x1b[201~two"]
