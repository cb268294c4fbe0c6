"""The selection follows the object, not the row number: across view switches, filters and
namespace switches (issue 20, item 6)."""

from __future__ import annotations

from kdash.kube.store import DELETED
from tests.ui.fixture_app import fixture_app
from tests.ui.tree_world import fed_app, item1_namespace


def visible(tree) -> range:
    return range(tree.scroll_offset.y, tree.scroll_offset.y + tree.size.height)


async def test_a_selected_deployment_survives_2_then_1():
    app = fixture_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tree = app.screen.tree
        assert tree.select_key("Deployment/staging/web")
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause()
        assert tree.selected is not None and tree.selected.key == "Deployment/staging/web"
        assert tree.cursor_line in visible(tree)
        # And each view keeps its own selection.
        await pilot.press("2")
        await pilot.pause()
        service = tree.keys()[-1]
        assert tree.select_key(service)
        await pilot.press("1", "2")
        await pilot.pause()
        assert tree.selected.key == service


async def test_the_selection_is_kept_and_scrolled_into_view_when_esc_clears_the_filter():
    app = fixture_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tree = app.screen.tree
        key = "Pod/staging/db-migrate"  # the last line: far below the first screen
        await pilot.press("slash", *"db-migrate", "enter")
        await pilot.pause()
        assert tree.select_key(key)
        await pilot.press("escape")
        await pilot.pause()
        assert len(tree.displayed_lines()) > tree.size.height
        assert tree.selected.key == key
        assert tree.cursor_line in visible(tree), (tree.cursor_line, visible(tree))


async def test_a_selection_gone_while_in_another_view_moves_to_the_nearest_line_and_says_so():
    app = fixture_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        tree = screen.tree
        assert tree.select_key("Pod/default/debug-shell")
        line = tree.cursor_line
        await pilot.press("2")
        await pilot.pause()
        app.store.delete("Pod", {"metadata": {"namespace": "default", "name": "debug-shell"}})
        screen.refresh_data({"Pod"})
        await pilot.press("1")
        await pilot.pause()
        assert tree.selected is not None and tree.cursor_line == line  # the next pod, not a far row
        assert tree.cursor_line in visible(tree)
        status = str(screen.query_one("#status").render())
        assert "Pod default/debug-shell is gone; selected: Pod staging/db-migrate" in status


async def test_a_selected_pod_that_goes_says_so_and_the_next_line_is_selected():
    app = fed_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        world = item1_namespace()
        for kind in ("Deployment", "ReplicaSet", "Pod"):
            app.put(kind, world[kind])
        await pilot.pause()
        tree = app.dashboard.tree
        assert tree.select_key("Pod/demo/solo-1")
        app.event("Pod", DELETED, world["Pod"][4])
        await pilot.pause()
        assert tree.selected.key == "Pod/demo/solo-2"
        status = str(app.dashboard.query_one("#status").render())
        assert "Pod demo/solo-1 is gone; selected: Pod demo/solo-2" in status
        # A namespace switch: every key changes; the nearest line is selected, in view, and said.
        other = item1_namespace("other")
        for kind in ("Deployment", "ReplicaSet", "Pod"):
            app.put(kind, other[kind])
        await pilot.pause()
        assert tree.selected is not None and tree.selected.namespace in ("other", "")
        assert tree.cursor_line in visible(tree)
        assert "is gone; selected:" in str(app.dashboard.query_one("#status").render())
