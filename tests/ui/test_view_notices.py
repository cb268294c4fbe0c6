"""What a view says when it shows less than everything: filtered/total counts, "no matches", and
kinds the user may not list (issue 20, items 4 and 5)."""

from __future__ import annotations

from kdash.screens.dashboard import CONFIGMAPS, SERVICES
from tests.ui.fixture_app import fixture_app
from tests.ui.tree_world import fed_app, item1_namespace, shown_vs_fresh


def status_of(screen) -> str:
    return str(screen.query_one("#status").render())


async def test_a_filter_shows_filtered_over_total_counts():
    app = fixture_app()
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert "4 deploy  9 rs  16 pods" in status_of(screen)
        await pilot.press("slash", *"worker", "enter")
        await pilot.pause()
        assert "filter: worker  │  1/4 deploy  2/9 rs  2/16 pods" in status_of(screen)
        await pilot.press("escape")
        await pilot.pause()
        assert "4 deploy  9 rs  16 pods" in status_of(screen)


async def test_a_filter_matching_nothing_says_so_in_the_tree():
    app = fixture_app()
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"zzz", "enter")
        await pilot.pause()
        tree = app.screen.tree
        assert tree.displayed_lines() == ['no matches for "zzz"']
        assert tree.selected is None or tree.selected.kind == "notice"
        await pilot.press("slash", "ctrl+a", *"-l app=nope", "enter")  # (the prompt starts with the filter)
        await pilot.pause()
        assert any("no matches for" in line for line in tree.displayed_lines())
        assert "0/4 deploy" in status_of(app.screen)


async def test_each_view_names_the_kinds_the_user_may_not_list():
    app = fed_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        world = item1_namespace()
        for kind in ("Deployment", "ReplicaSet", "Pod"):
            app.put(kind, world[kind])
        for kind in ("Service", "Endpoints", "ConfigMap"):
            app.store.set_state(kind, "demo", "forbidden", "Forbidden: services is forbidden")
            app.dashboard.refresh_data({kind})
        await pilot.pause()
        screen = app.dashboard
        assert not any("forbidden" in line for line in screen.tree.displayed_lines())  # workloads are readable
        screen._set_view(SERVICES)
        await pilot.pause()
        lines = screen.tree.displayed_lines()
        assert "forbidden: cannot list endpoints in ns demo" in lines
        assert "forbidden: cannot list services in ns demo" in lines
        screen._set_view(CONFIGMAPS)
        await pilot.pause()
        assert screen.tree.displayed_lines() == ["forbidden: cannot list configmaps in ns demo"]
        shown, fresh = shown_vs_fresh(app)
        assert shown == fresh
        # Allowed again (RBAC granted, the reflector lists): the line goes.
        app.store.set_state("ConfigMap", "demo", "live")
        app.put("ConfigMap", world["ConfigMap"])
        await pilot.pause()
        assert screen.tree.displayed_lines()[0].startswith("cm web-conf")
