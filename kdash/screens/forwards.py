"""The port-forwards of this session: target, local address, state, connections and bytes; stop one or all."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from kdash.actions.port_forward import Forwards, ForwardStatus
from kdash.render.format import size_text

COLUMNS = ("local", "target", "state", "pod", "conns", "in", "out")
EMPTY = "no port-forwards: F on a Pod or Service starts one"


def state_of(status: ForwardStatus) -> str:
    """"active", or "reconnecting: why" / "failed: why" (the last connection error when there is one)."""
    if status.state == "active":
        return "active" + (f" (last error: {status.last_error})" if status.last_error else "")
    return f"{status.state}: {status.reason}" if status.reason else status.state


def row_of(status: ForwardStatus) -> tuple[str, ...]:
    return (status.local, status.target, state_of(status), status.pod or "-",
            f"{status.open_connections}/{status.connections}", size_text(status.bytes_in),
            size_text(status.bytes_out))


class ForwardsScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Close"),
        Binding("d", "stop", "Stop"),
        Binding("D", "stop_all", "Stop all"),
    ]
    DEFAULT_CSS = """
    ForwardsScreen { align: center middle; }
    ForwardsScreen > Vertical { width: 120; max-width: 98%; height: auto; max-height: 90%;
                                border: round $primary; background: $surface; padding: 0 1; }
    ForwardsScreen DataTable { height: auto; max-height: 20; }
    """

    def __init__(self, forwards: Forwards) -> None:
        super().__init__()
        self.forwards = forwards
        self.shown: list[ForwardStatus] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Port-forwards", id="forwards-title")
            yield DataTable(cursor_type="row", zebra_stripes=True)
            yield Label(EMPTY, id="forwards-note", markup=False)
            yield Label("d: stop the highlighted forward   D: stop all   esc: close")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.refresh_rows()
        table.focus()
        self.set_interval(0.5, self.refresh_rows)  # states and byte counts move on their own

    def refresh_rows(self) -> None:
        table = self.query_one(DataTable)
        statuses = sorted(self.forwards.list(), key=lambda s: s.local)
        cursor = table.cursor_row
        table.clear()
        for status in statuses:
            table.add_row(*row_of(status), key=status.local)
        self.shown = statuses
        if statuses:
            table.move_cursor(row=min(cursor, len(statuses) - 1))
        self.query_one("#forwards-note", Label).display = not statuses

    def action_stop(self) -> None:
        table = self.query_one(DataTable)
        if 0 <= table.cursor_row < len(self.shown):
            self._stop([self.shown[table.cursor_row].local])

    def action_stop_all(self) -> None:
        self._stop([s.local for s in self.shown])

    @work(thread=True, group="forward-stop")
    def _stop(self, locals_: list[str]) -> None:
        """Stopping joins the forward's threads: off the UI thread."""
        stopped = [s for s in (self.forwards.stop(local) for local in locals_) if s is not None]
        if stopped:
            self.app.notify("stopped " + ", ".join(f"{s.local} → {s.target}" for s in stopped), title="Forwards")
        self.app.call_from_thread(self.refresh_rows)
