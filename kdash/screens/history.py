"""Rollout history of a Deployment (from its ReplicaSets, live); pick a revision to undo to."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from kdash.actions.registry import BY_ID
from kdash.render.format import age
from kdash.render.rollout import history, previous_revision

COLUMNS = ("revision", "images", "change-cause", "age", "pods", "")


class HistoryScreen(ModalScreen[int | None]):
    """Dismisses with the chosen revision (enter), the previous one (u), or None (escape)."""

    BINDINGS = [
        Binding("escape,q", "cancel", "Close"),
        Binding("enter", "choose", "Undo to this revision"),
        Binding("u", "previous", "Undo to previous"),
    ]
    DEFAULT_CSS = """
    HistoryScreen { align: center middle; }
    HistoryScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 90%;
                               border: round $primary; background: $surface; }
    HistoryScreen DataTable { height: auto; max-height: 20; }
    """

    def __init__(self, deployment_uid: str, *, readonly: bool = False) -> None:
        super().__init__()
        self.deployment_uid = deployment_uid
        self.readonly = readonly
        self.revisions: list = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(id="history-title")
            yield DataTable(cursor_type="row", zebra_stripes=True)
            yield Label("read-only: viewing only   esc: close" if self.readonly else
                        "enter: undo to the highlighted revision   u: undo to the previous one   esc: close")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.refresh_rows()
        table.focus()
        # Live: revisions gain and lose pods during a rollout, and ages move.
        self.set_interval(1.0, self.refresh_rows)

    def refresh_rows(self) -> None:
        store, now = self.app.store, self.app.now()
        deployment = store.by_uid(self.deployment_uid)
        table = self.query_one(DataTable)
        if deployment is None:
            self.query_one("#history-title", Label).update("Deployment is gone")
            table.clear()
            return
        meta = deployment["metadata"]
        self.query_one("#history-title", Label).update(f"Rollout history of Deployment {meta['namespace']}/{meta['name']}")
        self.revisions = history(deployment, store.owned_by("ReplicaSet", self.deployment_uid))
        cursor = table.cursor_row
        table.clear()
        for rev in self.revisions:
            # Text, not str: DataTable reads a str cell as markup, and change-cause is anyone's text.
            table.add_row(str(rev.revision), ", ".join(rev.images), Text(rev.change_cause or "<none>"),
                          age(rev.created, now), f"{rev.ready}/{rev.desired}",
                          "current" if rev.is_current else "", key=str(rev.revision))
        if self.revisions:
            table.move_cursor(row=min(max(cursor, 0), len(self.revisions) - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # The focused table takes enter for itself (select_cursor) before the screen's binding.
        event.stop()
        self.action_choose()

    def action_choose(self) -> None:
        table = self.query_one(DataTable)
        if not self.revisions:
            return
        rev = self.revisions[table.cursor_row]
        if rev.is_current:
            self.notify(f"revision {rev.revision} is the current one", severity="warning")
            return
        self._undo_to(rev.revision)

    def action_previous(self) -> None:
        revision = previous_revision(self.revisions)
        if revision is None:
            self.notify("no previous revision", severity="warning")
            return
        self._undo_to(revision)

    def _undo_to(self, revision: int) -> None:
        # The undo action's gate (read-only, RBAC; refusals audited): the history stays open if it says no.
        if self.app.writable(BY_ID["undo"]):
            self.dismiss(revision)

    def action_cancel(self) -> None:
        self.dismiss(None)
