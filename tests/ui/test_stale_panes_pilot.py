"""Pilot: while the health says stale the panes keep their content, dimmed, under a border saying so."""

from __future__ import annotations

from textual.geometry import Region

from kdash.screens.dashboard import DashboardScreen
from kdash.widgets.status import HeaderLine
from tests.ui.fixture_app import FixtureApp, fixture_app


class StaleApp(FixtureApp):
    health = "live"

    def watch_health(self) -> str:
        return self.health


def _top_line(widget) -> str:
    strips = widget.render_lines(Region(0, 0, widget.outer_size.width, 1))
    return "".join(segment.text for segment in strips[0]) if strips else ""


async def test_stale_panes_are_dimmed_say_so_and_keep_their_content():
    app = fixture_app(StaleApp)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        tree, details = screen.tree, screen.query_one("#details-scroll")
        keys = tree.keys()
        assert keys and not tree.has_class("stale")
        app.health = "stale for 7s, reconnecting"
        screen.update_header()
        await pilot.pause()
        assert "● stale for 7s, reconnecting" in screen.query_one(HeaderLine).render().plain
        for pane in (tree, details):
            assert pane.has_class("stale") and pane.styles.text_opacity < 1
            assert "stale for 7s, reconnecting: last known state" in _top_line(pane)
        assert tree.keys() == keys  # the last known state stays
        app.health = "live"
        screen.update_header()
        await pilot.pause()
        assert not tree.has_class("stale") and tree.styles.text_opacity == 1
        assert "stale" not in _top_line(tree) and "stale" not in _top_line(details)
