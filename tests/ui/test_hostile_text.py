"""No control sequence from the cluster reaches the terminal, in any view (hostile fixture, Pilot)."""

from __future__ import annotations

import copy

from rich.syntax import Syntax

from kdash.actions.apply import Manifest, Plan, PlanItem
from kdash.screens.apply_preview import ApplyPreviewScreen
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.history import HistoryScreen
from kdash.screens.modals import PickScreen, PromptScreen
from kdash.screens.yaml_view import YamlScreen
from tests.ui.hostile_fixture import HOSTILE, HOSTILE_NAME, hostile_app, screen_controls, screen_text

SIZE = (160, 60)  # tall enough for the details pane


async def _shows_safely(pilot, app, what: str, expect: str = "PWNED") -> None:
    """The hostile text is on screen (so the check means something), and no control character is."""
    await pilot.pause()
    text = screen_text(app)
    assert expect in text, f"{what}: the hostile text is not shown at all"
    assert screen_controls(app) == [], f"{what}: control characters reach the terminal"


async def test_tree_details_events_and_header_show_no_control_characters():
    app = hostile_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.screen.tree
        for key in ("Deployment/default/web", f"Deployment/default/{HOSTILE_NAME}",
                    "ReplicaSet/default/web-7d9c6b5f4", "Pod/default/web-7d9c6b5f4-abcde"):
            assert tree.select_key(key), key
            app.screen._show_details()
            await _shows_safely(pilot, app, f"details of {key}")
        assert "x^[]2;PWNED^Gy" in screen_text(app)  # shown as cat -v shows it, not dropped
        assert "[/oops]" in screen_text(app) and "[link=https://evil" in screen_text(app)  # not markup
        await pilot.press("2")  # services
        await pilot.pause()
        assert tree.select_key("Service/default/web")
        app.screen._show_details()
        await _shows_safely(pilot, app, "services view")
        await pilot.press("3")  # ConfigMaps: data, a hostile name
        await pilot.pause()
        await pilot.press("plus")
        assert tree.select_key(f"ConfigMap/default/{HOSTILE_NAME}")
        app.screen._show_details()
        await _shows_safely(pilot, app, "ConfigMap view", expect="NAME")


async def test_yaml_view_of_hostile_objects_shows_no_control_characters():
    app = hostile_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for obj in (app.store.get("Deployment", "default", "web"),
                    app.store.get("ConfigMap", "default", "web-config"),
                    app.store.get("Pod", "default", "web-7d9c6b5f4-abcde")):
            app.push_screen(YamlScreen("yaml " + HOSTILE, obj))
            await _shows_safely(pilot, app, f"YAML of {obj['metadata']['name']}")
            app.pop_screen()


async def test_history_confirmations_diffs_pickers_and_toasts_show_no_control_characters():
    app = hostile_app()
    app.writable = lambda action, kind=None: True  # no cluster to write to: the confirmations are what matters
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        web = app.store.get("Deployment", "default", "web")
        app.push_screen(HistoryScreen(web["metadata"]["uid"]))
        await _shows_safely(pilot, app, "history (change-cause)")
        app.pop_screen()

        assert app.screen.tree.select_key(f"Deployment/default/{HOSTILE_NAME}")
        await pilot.press("r")  # restart: the confirmation names the Deployment
        await _shows_safely(pilot, app, "restart confirmation", expect="NAME")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")

        diff = f"--- live\n+++ edited\n@@ -1 +1 @@\n-evil: a\n+evil: {HOSTILE}\n"
        app.push_screen(ConfirmScreen(f"Replace ConfigMap default/{HOSTILE_NAME}?", app.context_name,
                                      Syntax(diff, "diff", theme="ansi_dark"), protected=True))
        await _shows_safely(pilot, app, "edit diff confirmation")
        app.pop_screen()

        manifest = Manifest({"kind": "ConfigMap", "metadata": {"name": HOSTILE_NAME}}, 1, 1, source="x.yaml")
        plan = Plan([PlanItem(manifest, "changed", diff=diff), PlanItem(manifest, "error", message=HOSTILE)],
                    "default")
        app.push_screen(ApplyPreviewScreen(plan, "file" + HOSTILE, app.context_name, False))
        await _shows_safely(pilot, app, "apply preview")
        app.pop_screen()

        app.push_screen(PickScreen("Context", [("a", HOSTILE), ("b", "plain")]))
        await _shows_safely(pilot, app, "picker")
        app.pop_screen()
        app.push_screen(PromptScreen("Scale " + HOSTILE, value=HOSTILE, hint=HOSTILE))
        await _shows_safely(pilot, app, "prompt")
        app.pop_screen()

        app.notify("TOAST " + HOSTILE, title="Error" + HOSTILE, severity="error")
        await _shows_safely(pilot, app, "toast", expect="TOAST x^[]2;PWNED")
        # An API error echoing cluster text is not markup: no crash, no click action, shown as is.
        app.notify('Invalid value: "[/oops]" [@click=app.quit]here[/]', severity="error")
        await _shows_safely(pilot, app, "toast with brackets", expect='"[/oops]" [@click=app.quit]here[/]')


async def test_yaml_view_shows_unicode_as_is_and_escapes_controls():
    app = hostile_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        configmap = copy.deepcopy(app.store.get("ConfigMap", "default", "web-config"))
        configmap["data"]["greeting"] = "你好，世界 🚀"
        configmap["metadata"]["annotations"]["note"] = "中文说明 🚀"
        app.push_screen(YamlScreen("ConfigMap default/web-config", configmap))
        await _shows_safely(pilot, app, "YAML with unicode", expect="PWNED")
        shown = screen_text(app)
        assert "greeting: 你好，世界 🚀" in shown and "note: 中文说明 🚀" in shown
        assert '"x\\e]2;PWNED\\ay' in shown  # escaped by YAML itself, as kubectl does
