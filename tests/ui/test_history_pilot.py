"""The history's selection is a revision, not a row number: it survives refreshes, new rollouts and
deleted ReplicaSets, and an undo names and targets exactly what was highlighted (fixture app)."""

from __future__ import annotations

import copy

from textual.widgets import DataTable

from kdash.core.kinds import KINDS_BY_NAME
from kdash.core.rollout import REVISION_ANNOTATION
from kdash.kube.objects import slim
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.history import HistoryScreen
from tests.ui.fixture_app import fixture_app

API_RS = {1: "api-74b9d5c8f", 2: "api-58c4d7f9b6", 3: "api-6f7d8c9b5"}


def shown_cursor_rows(screen: HistoryScreen) -> list[str]:
    """The table lines the terminal paints in the cursor's colours (what the user sees highlighted)."""
    table = screen.query_one(DataTable)
    cursor = table.get_component_rich_style("datatable--cursor").bgcolor
    lines = (table.render_line(y) for y in range(table.size.height))
    return [strip.text.strip() for strip in lines if any(seg.style and seg.style.bgcolor == cursor for seg in strip)]


def shown_revision(screen: HistoryScreen) -> int | None:
    """The revision number on the row painted as highlighted; None when no row is."""
    rows = shown_cursor_rows(screen)
    assert len(rows) <= 1, rows
    return int(rows[0].split()[0]) if rows else None


def put(app, kind: str, obj: dict) -> None:
    """Store an edited copy as a watch event would (a new resourceVersion)."""
    obj["metadata"]["resourceVersion"] = str(int(obj["metadata"].get("resourceVersion") or 0) + 1000)
    app.store.upsert(kind, slim(obj, KINDS_BY_NAME[kind]))


def new_revision(app, revision: int) -> None:
    """A ReplicaSet for a new rollout of api, as the controller would add it."""
    rs = copy.deepcopy(app.store.get("ReplicaSet", "default", API_RS[3]))
    rs["metadata"].update(name=f"api-new{revision}", uid=f"uid-new-{revision}",
                          creationTimestamp="2021-03-01T11:59:00Z")
    rs["metadata"]["annotations"][REVISION_ANNOTATION] = str(revision)
    rs["spec"]["template"]["spec"]["containers"][0]["image"] = f"acme/api:{revision}.0"
    put(app, "ReplicaSet", rs)


async def open_history(app, pilot) -> HistoryScreen:
    await pilot.pause()
    api = app.store.get("Deployment", "default", "api")
    chosen: list = []
    app.push_screen(HistoryScreen(api["metadata"]["uid"]), chosen.append)
    await pilot.pause()
    screen = app.screen
    screen.chosen = chosen
    assert [r.revision for r in screen.revisions] == [3, 2, 1]
    return screen


async def test_highlight_follows_its_revision_when_a_new_rollout_adds_a_row():
    app = fixture_app()
    app.writable = lambda action, kind=None: True
    async with app.run_test(size=(110, 32)) as pilot:
        history = await open_history(app, pilot)
        await pilot.press("down")
        await pilot.pause()
        assert shown_cursor_rows(history)[0].startswith("2 ")
        new_revision(app, 4)  # a rollout lands: a row above shifts every row down
        history.refresh_rows()
        await pilot.pause()
        assert [r.revision for r in history.revisions] == [4, 3, 2, 1]
        assert history.highlighted.revision == 2
        assert [line.split()[0] for line in shown_cursor_rows(history)] == ["2"]
        await pilot.press("enter")
        await pilot.pause()
        assert [(r.revision, r.name) for r in history.chosen] == [(2, API_RS[2])]


async def test_nothing_is_selected_when_the_highlighted_revision_is_deleted():
    app = fixture_app()
    app.writable = lambda action, kind=None: True
    async with app.run_test(size=(110, 32)) as pilot:
        history = await open_history(app, pilot)
        await pilot.press("down", "down")
        await pilot.pause()
        assert history.highlighted.revision == 1
        app.store.delete("ReplicaSet", app.store.get("ReplicaSet", "default", API_RS[1]))
        history.refresh_rows()
        await pilot.pause()
        assert [r.revision for r in history.revisions] == [3, 2]
        # Not a neighbour: nothing, and the screen says why.
        assert history.highlighted is None and shown_cursor_rows(history) == []
        note = history.query_one("#history-note")
        assert note.display and "revision 1" in str(note.render()) and "no longer in the history" in str(note.render())
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is history and history.chosen == []
        # Later refreshes keep nothing selected until the user moves; then the cursor is back.
        history.refresh_rows()
        await pilot.pause()
        assert history.highlighted is None
        await pilot.press("down")
        await pilot.pause()
        assert history.highlighted.revision == 3 and len(shown_cursor_rows(history)) == 1


async def test_a_renumbered_revision_is_not_the_one_highlighted():
    app = fixture_app()
    app.writable = lambda action, kind=None: True
    async with app.run_test(size=(110, 32)) as pilot:
        history = await open_history(app, pilot)
        await pilot.press("down")
        await pilot.pause()
        # An undo to revision 2 elsewhere: its ReplicaSet becomes revision 4, revision 2 is gone.
        rs = copy.deepcopy(app.store.get("ReplicaSet", "default", API_RS[2]))
        rs["metadata"]["annotations"][REVISION_ANNOTATION] = "4"
        put(app, "ReplicaSet", rs)
        history.refresh_rows()
        await pilot.pause()
        assert [r.revision for r in history.revisions] == [4, 3, 1]
        assert history.highlighted is None and shown_cursor_rows(history) == []


async def test_end_and_home_move_the_history_cursor():
    app = fixture_app()
    app.writable = lambda action, kind=None: True
    async with app.run_test(size=(110, 32)) as pilot:
        history = await open_history(app, pilot)
        await pilot.press("end")
        await pilot.pause()
        assert history.highlighted.revision == 1
        assert [line.split()[0] for line in shown_cursor_rows(history)] == ["1"]
        await pilot.press("home")
        await pilot.pause()
        assert history.highlighted.revision == 3


async def test_undo_confirmation_names_revision_images_and_age():
    app = fixture_app()
    app.writable = lambda action, kind=None: True
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        assert app.screen.tree.select_key("Deployment/default/api")
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("down", "enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        # Images as the template names them (the table shortens them), and the revision's age.
        assert "to revision 2 (registry.example.com/acme/api:1.9)?" in confirm._title
        assert f"revision 2: registry.example.com/acme/api:1.9   age 19d   ReplicaSet {API_RS[2]}" \
            in confirm._detail
        assert "now on revision 3: registry.example.com/acme/api:2.0" in confirm._detail


async def test_undo_of_a_paused_deployment_is_refused_before_any_confirmation():
    app = fixture_app()
    app.writable = lambda action, kind=None: True
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        api = copy.deepcopy(app.store.get("Deployment", "default", "api"))
        api["spec"]["paused"] = True
        put(app, "Deployment", api)
        assert app.screen.tree.select_key("Deployment/default/api")
        await pilot.press("U")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen), "nothing may be asked for a paused Deployment"
        assert any("is paused; resume it first" in n.message for n in app._notifications)
        # From the history too: refused there, and the history stays open.
        await pilot.press("u")
        await pilot.pause()
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen is history
        assert len([n for n in app._notifications if "is paused" in n.message]) == 2
