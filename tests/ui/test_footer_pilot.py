"""The footer keeps no key it stopped showing (Textual's Footer kept every one: kdash/widgets/footer.py)."""

from __future__ import annotations

import gc

from textual.widgets._footer import FooterKey

from kdash.widgets.footer import Footer
from tests.ui.fixture_app import fixture_app


def footer_keys_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))


async def test_footer_keys_do_not_pile_up_as_bindings_change():
    app = fixture_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        shown = len(footer.query(FooterKey))
        assert shown > 5
        for _ in range(15):  # each help screen pushed and popped changes the bindings twice
            await pilot.press("question_mark")
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
        for _ in range(20):  # the cursor onto other kinds: other keys apply
            await pilot.press("down")
        await pilot.pause(0.5)
        # What the screens show now, plus at most one set on its way out; without the fix: thousands.
        alive = footer_keys_alive()
        assert alive <= 3 * shown, (alive, shown)
        assert len(footer.query(FooterKey)) == shown  # and it still shows its keys


def test_every_screen_uses_kdashs_footer():
    import re
    from pathlib import Path

    kdash = Path(__file__).resolve().parents[2] / "kdash"
    offenders = [str(p.relative_to(kdash)) for p in kdash.rglob("*.py")
                 if p.name != "footer.py" and re.search(r"from textual\.widgets import [^\n]*\bFooter\b", p.read_text())]
    assert offenders == []
