"""Rollout history of a Deployment (its ReplicaSets) or a StatefulSet/DaemonSet (its ControllerRevisions),
live; pick a revision to undo to."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from kdash.actions.registry import BY_ID
from kdash.core import revisions as controller_revisions
from kdash.core.rollout import Revision, history, previous_of
from kdash.render.format import age
from kdash.render.revision_diff import revision_diff
from kdash.screens.revision_diff import RevisionDiffScreen
from kdash.screens.typed_app import KdashModalScreen

COLUMNS = ("revision", "images", "change-cause", "age", "pods", "")
NOTHING_SELECTED = "Nothing selected: pick a revision with ↑/↓"
# Says why a revision may not be undone to right now (paused, an undo still landing…), or None.
Vet = Callable[[Revision], "str | None"]


def row_key(rev: Revision) -> str:
    """A row is one ReplicaSet at one revision number: an undo renumbers the ReplicaSet it
    goes back to, and that is no longer the revision the user highlighted."""
    return f"{rev.revision}/{rev.uid}"


class RevisionTable(DataTable):
    """A row table whose cursor can be hidden (nothing selected) until the user moves it;
    home/end move the cursor to the first/last row instead of scrolling sideways."""

    BINDINGS = [
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]

    def _reveal(self) -> bool:
        """Show a hidden cursor on the first row; True if it was hidden (the key is spent)."""
        if self.show_cursor:
            return False
        self.show_cursor = True
        self.move_cursor(row=0)
        return True

    def action_cursor_up(self) -> None:
        if not self._reveal():
            super().action_cursor_up()

    def action_cursor_down(self) -> None:
        if not self._reveal():
            super().action_cursor_down()

    def action_page_up(self) -> None:
        if not self._reveal():
            super().action_page_up()

    def action_page_down(self) -> None:
        if not self._reveal():
            super().action_page_down()

    def action_scroll_top(self) -> None:
        self._reveal()
        super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        self._reveal()
        super().action_scroll_bottom()

    def action_select_cursor(self) -> None:
        if self.show_cursor:
            super().action_select_cursor()
        else:
            self.notify(NOTHING_SELECTED, severity="warning")

    async def _on_click(self, event: events.Click) -> None:
        self.show_cursor = True
        await super()._on_click(event)


class HistoryScreen(KdashModalScreen[Revision | None]):
    """Dismisses with the chosen revision (enter), the previous one (u), or None (escape).

    The highlighted row is tracked by its ReplicaSet and revision, not by its position: the table
    refreshes every second, and a new rollout or a deleted ReplicaSet shifts the rows. If the
    highlighted revision leaves the history, nothing is selected (and that is said) rather than
    whatever row slid into its place.
    """

    BINDINGS = [
        Binding("escape,q", "cancel", "Close"),
        Binding("enter", "choose", "Undo to this revision"),
        Binding("u", "previous", "Undo to previous"),
        Binding("m", "mark", "Mark"),
        Binding("d", "diff", "Diff"),
    ]
    DEFAULT_CSS = """
    HistoryScreen { align: center middle; }
    HistoryScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 90%;
                               border: round $primary; background: $surface; }
    HistoryScreen DataTable { height: auto; max-height: 20; }
    HistoryScreen #history-note { color: $warning; display: none; }
    """

    def __init__(self, deployment_uid: str, *, readonly: bool = False, vet: Vet | None = None) -> None:
        super().__init__()
        self.deployment_uid = deployment_uid
        self.readonly = readonly
        self.vet = vet
        self.revisions: list[Revision] = []
        self.marked: Revision | None = None
        """What `d` compares the highlighted revision with (the current one when None)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(id="history-title")
            yield RevisionTable(cursor_type="row", zebra_stripes=True)
            yield Label(id="history-note", markup=False)
            yield Label("read-only: viewing only   d: diff with current (m marks another)   esc: close"
                        if self.readonly else
                        "enter: undo to the highlighted   u: undo to the previous   d: diff with current "
                        "(m marks another)   esc: close")

    def on_mount(self) -> None:
        table = self.query_one(RevisionTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.refresh_rows()
        table.focus()
        # Live: revisions gain and lose pods during a rollout, and ages move.
        self.set_interval(1.0, self.refresh_rows)

    @property
    def highlighted(self) -> Revision | None:
        """The revision under the visible cursor (the table always shows `self.revisions`)."""
        table = self.query_one(RevisionTable)
        if not table.show_cursor or not 0 <= table.cursor_row < len(self.revisions):
            return None
        return self.revisions[table.cursor_row]

    def refresh_rows(self) -> None:
        store, now = self.app.store, self.app.now()
        deployment = store.by_uid(self.deployment_uid)
        table = self.query_one(RevisionTable)
        kept = self.highlighted
        if deployment is None:
            self.query_one("#history-title", Label).update("The workload is gone")
            self.revisions = []
            table.clear()
            return
        meta = deployment["metadata"]
        kind = deployment.get("kind") or "Deployment"
        title = f"Rollout history of {kind} {meta['namespace']}/{meta['name']}"
        self.query_one("#history-title", Label).update(title)
        if kind == "Deployment":
            self.revisions = history(deployment, store.owned_by("ReplicaSet", self.deployment_uid))
        else:
            self.revisions = controller_revisions.history(
                deployment, store.owned_by("ControllerRevision", self.deployment_uid),
                store.owned_by("Pod", self.deployment_uid))
        table.clear()
        for rev in self.revisions:
            # Text, not str: DataTable reads a str cell as markup, and images and change-cause are
            # anyone's text.
            table.add_row(str(rev.revision), Text(", ".join(rev.images)), Text(rev.change_cause or "<none>"),
                          age(rev.created, now), f"{rev.ready}/{rev.desired}",
                          _row_note(rev, self.marked), key=row_key(rev))
        if kept is not None:
            self._keep(table, kept)

    def _keep(self, table: RevisionTable, kept: Revision) -> None:
        index = next((i for i, r in enumerate(self.revisions) if row_key(r) == row_key(kept)), None)
        note = self.query_one("#history-note", Label)
        if index is not None:
            table.move_cursor(row=index)
            note.display = False
            return
        table.show_cursor = False
        text = (f"revision {kept.revision} ({', '.join(kept.images)}) is no longer in the history "
                "(deleted or renumbered): nothing selected")
        note.update(text)
        note.display = True
        self.app.notify(text, severity="warning")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # The focused table takes enter for itself (select_cursor) before the screen's binding.
        event.stop()
        self.action_choose()

    def action_choose(self) -> None:
        rev = self.highlighted
        if rev is None:
            if self.revisions:
                self.notify(NOTHING_SELECTED, severity="warning")
            return
        if rev.is_current:
            self.notify(f"revision {rev.revision} is the current one", severity="warning")
            return
        self._undo_to(rev)

    def action_previous(self) -> None:
        rev = previous_of(self.revisions)
        if rev is None:
            self.notify("no previous revision", severity="warning")
            return
        self._undo_to(rev)

    def _undo_to(self, rev: Revision) -> None:
        # The undo action's gate (read-only, RBAC; refusals audited), then what the caller knows
        # makes it pointless (paused, an undo still landing): the history stays open if either says no.
        workload = self.app.store.by_uid(self.deployment_uid) or {}
        if not self.app.writable(BY_ID["undo"], workload.get("kind") or "Deployment"):
            return
        reason = self.vet(rev) if self.vet is not None else None
        if reason:
            self.app.notify(reason, title="Cannot undo", severity="error")
            return
        self.dismiss(rev)

    def action_mark(self) -> None:
        rev = self.highlighted
        self.marked = None if rev is None or (self.marked and row_key(self.marked) == row_key(rev)) else rev
        self.refresh_rows()

    def action_diff(self) -> None:
        """The pod templates of the highlighted revision and the marked one (else the current one)."""
        rev = self.highlighted
        other = self.marked or next((r for r in self.revisions if r.is_current), None)
        if rev is None or other is None:
            self.notify(NOTHING_SELECTED, severity="warning")
            return
        if row_key(rev) == row_key(other):
            self.notify(f"revision {rev.revision} is the one it would be compared with; highlight another",
                        severity="warning")
            return
        by_uid = {r["metadata"]["uid"]: r for r in self.app.store.owned_by("ReplicaSet", self.deployment_uid)}
        if rev.uid not in by_uid or other.uid not in by_uid:
            self.notify("that revision is no longer in the history", severity="warning")
            return
        old, new = sorted((rev, other), key=lambda r: r.revision)
        diff = revision_diff(by_uid[old.uid], by_uid[new.uid])
        deployment = self.app.store.by_uid(self.deployment_uid) or {"metadata": {}}
        name = f"{deployment['metadata'].get('namespace')}/{deployment['metadata'].get('name')}"
        self.app.push_screen(RevisionDiffScreen(f"Deployment {name}: revision {old.revision} → {new.revision}"
                                                f"{' (current)' if new.is_current else ''}", diff))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _row_note(rev: Revision, marked: Revision | None) -> str:
    notes = ["current"] if rev.is_current else []
    if marked is not None and row_key(marked) == row_key(rev):
        notes.append("marked")
    return ", ".join(notes)
