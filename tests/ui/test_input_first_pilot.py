"""Keys before store flushes, in the app: a key's frame comes before a flush that was due with it, and a held flush still comes."""

from __future__ import annotations

from textual import events

from kdash.messages import INPUT_HOLD_MAX
from kdash.screens.modals import PromptScreen
from tests.ui.fixture_app import fixture_app


def _record(app, log: list) -> None:
    """Log each frame (with the cursor line) and each store flush the dashboard gets."""
    screen = app.screen
    tree = screen.tree
    hook, refresh = app.post_display_hook, screen.refresh_data

    def frame() -> None:
        log.append(("frame", tree.cursor_line))
        hook()

    def flush(kinds) -> None:
        log.append(("flush", tree.cursor_line))
        refresh(kinds)

    app.post_display_hook = frame
    screen.refresh_data = flush


async def test_a_keys_frame_comes_before_the_flush_due_with_it():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        tree = app.screen.tree
        line0 = tree.cursor_line
        log: list = []
        _record(app, log)
        # The key and a store change arrive together, the key first (a flush is due at once).
        app.post_message(events.Key("down", None))
        app.coalescer.mark("Pod")
        await pilot.pause(0.3)
        moved = next(i for i, (what, line) in enumerate(log) if what == "frame" and line == line0 + 1)
        flushed = next(i for i, (what, _) in enumerate(log) if what == "flush")
        assert moved < flushed, log
        assert not app.input_first.holding


async def test_a_key_a_text_input_takes_holds_a_flush_no_longer_than_the_limit():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("slash")
        assert isinstance(app.screen, PromptScreen)
        flushes: list = []
        real = app.dashboard.refresh_data
        app.dashboard.refresh_data = lambda kinds: (flushes.append(kinds), real(kinds))
        app.post_message(events.Key("a", "a"))
        app.coalescer.mark("Pod")
        await pilot.pause(INPUT_HOLD_MAX + 0.3)
        assert flushes == [{"Pod"}]
        assert not app.input_first.holding
