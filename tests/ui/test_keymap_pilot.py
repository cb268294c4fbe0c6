"""A bad keymap in settings.yaml: a warning per refused entry on screen, the default keys still work."""

from __future__ import annotations

from kdash.actions.registry import BY_ID
from kdash.config import Settings
from kdash.screens.modals import PickScreen
from tests.ui.fixture_app import fixture_app


async def test_bad_keymap_entries_are_refused_with_a_warning_each_and_defaults_still_work():
    app = fixture_app(settings=Settings(keymap={"scale": "n", "logs": "ctrl+", "nope": "x", "toggle_view": "v"}))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        warnings = [n.message for n in app._notifications if n.title == "Settings"]
        assert len(warnings) == 3, warnings
        assert any("scale: 'n' is already the key of namespace" in w for w in warnings)
        assert any("logs: 'ctrl+' is not a key" in w for w in warnings)
        assert any("unknown action 'nope'" in w for w in warnings)
        bound = {key: b.binding.action for key, b in app.screen.active_bindings.items()}
        assert bound["s"] == "scale" and bound["l"] == "logs" and bound["v"] == "toggle_view"
        assert app.keys_for(BY_ID["scale"]) == "s" and app.keys_for(BY_ID["logs"]) == "l"
        await pilot.press("n")  # still the namespace picker
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
