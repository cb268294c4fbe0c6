"""Pilot tests of the dashboard on fixture data: keys, filters, views, help, themes, 80×24."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from textual.geometry import Region

from kdash.actions.registry import ACTIONS
from kdash.actions.safety import AuditLog
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.help import HelpScreen
from kdash.screens.history import HistoryScreen
from kdash.screens.modals import PromptScreen
from kdash.screens.yaml_view import YamlScreen
from tests.ui.fixture_app import FIXTURE, fixture_app


async def test_workload_tree_shows_deployments_replicasets_and_pods():
    app = fixture_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tree = app.screen.tree
        kinds = {key.split("/")[0] for key in tree.keys()}
        assert {"Deployment", "ReplicaSet", "Pod"} <= kinds
        lines = tree.visible_labels()
        assert any("rs " in line for line in lines)
        assert any("pod " in line for line in lines)


async def test_filter_by_name_and_by_label_selector_then_clear():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen: DashboardScreen = app.screen
        everything = set(screen.tree.keys())
        deployments = sorted(k for k in everything if k.startswith("Deployment/"))
        target = deployments[0].split("/")[-1]
        await pilot.press("slash")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*target, "enter")
        await pilot.pause()
        filtered = set(screen.tree.keys())
        assert f"Deployment/{deployments[0].split('/')[1]}/{target}" in filtered
        assert filtered < everything
        assert all(not k.startswith("Deployment/") or target in k for k in filtered)
        await pilot.press("escape")
        await pilot.pause()
        assert set(screen.tree.keys()) == everything
        # A bad selector keeps the tree as it was and says why.
        await pilot.press("slash", *"-l a in (", "enter")
        await pilot.pause()
        assert set(screen.tree.keys()) == everything
        assert any("selector" in (n.title or "").lower() for n in app._notifications)


async def test_services_view_and_back():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        keys = app.screen.tree.keys()
        assert keys and all(k.startswith("Service/") or k.startswith("group/") for k in keys
                            if "/Pod/" not in k)
        await pilot.press("tab")
        await pilot.pause()
        assert app.screen.view == "configmaps"
        keys = app.screen.tree.keys()
        assert any(k.startswith("ConfigMap/") for k in keys)
        from kdash.screens.dashboard import VIEWS

        for _ in range(len(VIEWS) - VIEWS.index("configmaps")):  # round every view back to the first
            await pilot.press("tab")
            await pilot.pause()
        assert any(k.startswith("Deployment/") for k in app.screen.tree.keys())


async def test_yaml_view_of_selection():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        tree = app.screen.tree
        key = next(k for k in tree.keys() if k.startswith("Deployment/"))
        assert tree.select_key(key)
        await pilot.press("y")
        assert isinstance(app.screen, YamlScreen)
        name = key.split("/")[-1]
        assert f"name: {name}" in app.screen.text
        assert "managedFields" not in app.screen.text
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_help_lists_every_registry_action():
    from rich.console import Console

    from kdash.screens.help import help_table

    app = fixture_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, record=True, file=open("/dev/null", "w"))
        console.print(help_table(app.keys_for))
        plain = console.export_text()
        for action in ACTIONS:
            assert action.description in plain, action.id
            assert app.keys_for(action) in plain, action.id
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_palette_offers_registry_actions():
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"services")
        await pilot.pause(0.5)
        from textual.command import CommandPalette
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.view == "services"


async def test_theme_cycles_through_bundled_themes():
    app = fixture_app()
    async with app.run_test(size=(80, 24)) as pilot:
        seen = {app.theme}
        for _ in range(3):
            await pilot.press("T")
            seen.add(app.theme)
        assert {"kdash-dark", "kdash-light", "kdash-mono"} <= seen


async def test_keymap_override_from_settings():
    from kdash.config import Settings

    app = fixture_app(settings=Settings(keymap={"toggle_view": "v"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert app.screen.view == "services"


async def test_ages_move_on_screen_without_rebuilding_the_tree():
    data = json.loads(FIXTURE.read_text())
    clock = [datetime.fromisoformat(data["now"].replace("Z", "+00:00"))]
    app = fixture_app(clock=lambda: clock[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tree = app.screen.tree

        def painted() -> list[str]:
            return [strip.text.rstrip() for strip in tree.render_lines(Region(0, 0, *tree.size))]

        before, shown, patches = tree.visible_labels(), painted(), tree.patches
        clock[0] += timedelta(hours=30)
        tree._age_tick()
        await pilot.pause()
        after = tree.visible_labels()
        assert tree.patches == patches  # time alone rebuilt nothing
        changed = [(a, b) for a, b in zip(before, after) if a != b]
        assert changed and all(b.startswith("pod ") for _, b in changed)
        assert all(re.search(r"  \d+h  ", b) or re.search(r"  \d+d\d*h?  ", b) for _, b in changed)
        # The terminal shows the moved ages: each visible line is painted with its new text.
        now_shown = painted()
        assert now_shown != shown
        assert all(label in line for label, line in zip(after, now_shown)), now_shown


async def test_history_undoes_to_the_revision_chosen_with_enter():
    app = fixture_app()
    app.writable = lambda action, kind=None: True  # the fixture app has no cluster connection to write to
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        api = app.store.get("Deployment", "default", "api")
        chosen: list = []
        app.push_screen(HistoryScreen(api["metadata"]["uid"]), chosen.append)
        await pilot.pause()
        history = app.screen
        assert [r.revision for r in history.revisions] == [3, 2, 1] and history.revisions[0].is_current
        await pilot.press("enter")  # the current revision: said, and the screen stays
        await pilot.pause()
        assert app.screen is history and chosen == []
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert [r.revision for r in chosen] == [1] and app.screen is not history


async def test_history_is_a_view_under_readonly_and_undo_from_it_is_refused(tmp_path):
    audit = AuditLog(tmp_path / "audit.log")
    app = fixture_app(readonly=True, audit=audit)
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        assert app.screen.tree.select_key("Deployment/default/api")
        await pilot.press("u")
        await pilot.pause()
        history = app.screen
        assert isinstance(history, HistoryScreen) and [r.revision for r in history.revisions] == [3, 2, 1]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen is history  # refused: the history stays open, nothing asked
        assert any("read-only" in n.message.lower() for n in app._notifications)
        assert [(line["verb"], line["result"]) for line in audit.lines()] == [("undo", "refused")]
