"""A long session keeps no dead widget's render cache: screens opened and closed many times leave
no more StylesCaches alive than the widgets on screen (Textual #6665; kdash/widgets/textual_fixes.py)."""

from __future__ import annotations

import gc

from kdash.screens.yaml_view import YamlScreen
from tests.ui.fixture_app import fixture_app


def styles_caches() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o).__name__ == "StylesCache")


async def test_closed_screens_leave_no_render_caches_behind():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        deployment = app.store.get("Deployment", "default", "web")
        counts = []
        for i in range(12):
            await app.push_screen(YamlScreen(f"Deployment default/web #{i}", deployment))
            await pilot.pause()
            app.pop_screen()
            await pilot.pause()
            for _ in range(3):
                await pilot.press("down")
            counts.append(styles_caches())
        assert counts[-1] <= counts[2] + 5, counts  # one screen's worth would be kept per cycle before
