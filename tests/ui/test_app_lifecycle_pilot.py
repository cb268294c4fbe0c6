"""Context switches that change nothing until they succeed, the header at any width, ctrl+c.

No cluster: the connections point at a closed port (their watches just reconnect); a fake
connector decides when each connect attempt ends. The same promises against the real control
plane are in test_context_switch_live.py.
"""

from __future__ import annotations

import threading
from argparse import Namespace
from types import SimpleNamespace

import pytest
import yaml
from textual.geometry import Region

from kdash import app as app_module
from kdash.actions.registry import BY_ID
from kdash.actions.safety import AuditLog
from kdash.app import KdashApp, make_app
from kdash.config import Settings
from kdash.errors import KdashError
from kdash.kube.client import connect
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.modals import PickScreen
from kdash.widgets.status import HeaderLine
from tests.ui.fixture_app import fixture_app
from tests.ui.pilot_helpers import until

ARN = "arn:aws:eks:eu-west-1:123456789012:cluster/payments-production-primary"


def _kubeconfig(tmp_path, names: list[str]) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": names[0],
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u", "namespace": f"ns-{n}"}}
                     for n in names],
    }))
    return str(path)


class Connector:
    """Connects without a probe; a context mapped to an Event waits for it (then looks again), one
    mapped to an error raises it."""

    def __init__(self) -> None:
        self.behaviour: dict[str, threading.Event | KdashError] = {}
        self.made: list = []
        self.closed: list[str] = []

    def __call__(self, kubeconfig: str | None, context: str | None):
        behaviour = self.behaviour.get(context or "")
        if isinstance(behaviour, threading.Event):
            behaviour.wait(30)
            behaviour = self.behaviour.get(context or "")  # the test may have decided meanwhile
        if isinstance(behaviour, KdashError):
            raise behaviour
        connection = connect(kubeconfig, context, probe=False)
        connection.version = f"v1.20.2+{connection.context_name}"
        close = connection.close

        def closing() -> None:
            self.closed.append(connection.context_name)
            close()

        connection.close = closing
        self.made.append(connection)
        return connection


def _app(tmp_path, names, connector, **settings) -> KdashApp:
    args = Namespace(kubeconfig=_kubeconfig(tmp_path, names), context=None, namespace=None,
                     all_namespaces=False, readonly=False, theme=None)
    return make_app(args, connector=connector, settings=Settings(**settings),
                    audit=AuditLog(tmp_path / "audit.log"))


def _header(app) -> str:
    header = app.screen.query_one(HeaderLine)
    return "".join(strip.text for strip in header.render_lines(Region(0, 0, *header.outer_size))).rstrip()


async def _pick_context(pilot, name: str) -> None:
    await pilot.press("c")
    await until(pilot, lambda: isinstance(pilot.app.screen, PickScreen), message="context picker")
    options = pilot.app.screen.query_one("OptionList")
    options.highlighted = [o.id for o in options._options].index(name)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), message="picker closed")


async def test_a_failed_switch_leaves_every_policy_on_the_current_connection(tmp_path):
    connector = Connector()
    gate = threading.Event()
    connector.behaviour["dead"] = gate
    app = _app(tmp_path, ["admin", "dead"], connector, readonly_contexts=["admin"])
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.connection is not None, message="first connection")
        admin, watcher = app.connection, app.watcher
        await _pick_context(pilot, "dead")
        # Pending: shown as such, and nothing else moved.
        await until(pilot, lambda: "connecting to dead…" in _header(app), message="pending switch shown")
        header = _header(app)
        assert "ctx admin" in header and "READONLY" in header and "ns ns-admin" in header
        assert (app.context_name, app.readonly, app.namespace) == ("admin", True, "ns-admin")
        # Writes meanwhile: refused (read-only comes first here), audited with the real context.
        assert not app.writable(BY_ID["scale"])
        # The switch fails: everything is exactly as before.
        connector.behaviour["dead"] = KdashError("Cannot reach the API server", "connection refused")
        gate.set()
        await until(pilot, lambda: app.pending_context is None, message="the switch to end")
        assert app.connection is admin and app.watcher is watcher
        assert (app.context_name, app.readonly, app.namespace) == ("admin", True, "ns-admin")
        assert "connecting to" not in _header(app) and "ctx admin" in _header(app) and "READONLY" in _header(app)
        assert any("dead" in (n.title or "") and "still on context admin" in n.message for n in app._notifications)
        assert not app.writable(BY_ID["scale"])
    lines = app.audit.lines()
    assert [(line["context"], line["result"]) for line in lines] == [("admin", "refused")] * 2


async def test_writes_are_refused_while_a_switch_is_pending(tmp_path):
    connector = Connector()
    gate = connector.behaviour["prod"] = threading.Event()
    app = _app(tmp_path, ["dev", "prod"], connector, protected_contexts=["prod"])
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.connection is not None, message="first connection")
        app._switch_context("prod")
        assert app.switching_to == "prod" and app.context_name == "dev" and not app.protected
        assert not app.writable(BY_ID["restart"])
        with pytest.raises(KdashError, match="switching to context prod"):
            with app.write_context().attempt("restart", "Deployment/ns-dev/web"):
                raise AssertionError("sent")
        gate.set()
        await until(pilot, lambda: app.context_name == "prod", message="the switch")
        assert app.protected and app.namespace == "ns-prod" and app.switching_to is None
    assert [(line["context"], line["result"], line["detail"]) for line in app.audit.lines()] == \
        [("dev", "refused", "switching to context prod")] * 2


async def test_a_confirmation_answered_after_a_switch_sends_nothing(tmp_path):
    connector = Connector()
    app = _app(tmp_path, ["dev", "prod"], connector)
    sent = []

    def restart(ctx) -> str:
        with ctx.attempt("restart", "Deployment/ns-dev/web"):  # as every write does
            sent.append(ctx.context_name)
        return "done"

    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.connection is not None, message="first connection")
        app.dashboard.confirm_write("Restart Deployment ns-dev/web?", "", restart, verb="Restart")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.query("#context"),
                    message="confirmation")
        assert "context: dev" in str(app.screen.query_one("#context").render())
        app._switch_context("prod")  # started earlier, it lands while the dialog is open
        await until(pilot, lambda: app.context_name == "prod", message="the switch")
        await pilot.press("y")
        await until(pilot, lambda: app.audit.lines(), message="the audit line")
    assert sent == []
    [line] = app.audit.lines()
    assert line["result"] == "refused" and "confirmed on context dev" in line["detail"]


async def test_a_write_prepared_before_a_switch_is_not_even_asked(tmp_path):
    # Scale looks for an HPA, edit and apply dry-run first, all in a worker on the connection of
    # the moment: if the context changed meanwhile, no confirmation opens.
    connector = Connector()
    app = _app(tmp_path, ["dev", "prod"], connector)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.connection is not None, message="first connection")
        dev = app.connection
        app._switch_context("prod")
        await until(pilot, lambda: app.context_name == "prod", message="the switch")
        app.dashboard.confirm_write("Scale Deployment ns-dev/web to 3?", "", lambda ctx: "sent", verb="Scale",
                                    prepared_on=dev)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert any("nothing was sent" in n.message for n in app._notifications)
    assert app.audit.lines() == []


async def test_the_last_switch_wins_and_a_late_result_is_discarded(tmp_path):
    connector = Connector()
    slow = connector.behaviour["slow"] = threading.Event()
    app = _app(tmp_path, ["dev", "slow", "fast"], connector)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.connection is not None, message="first connection")
        app._switch_context("slow")
        app._switch_context("fast")
        await until(pilot, lambda: app.context_name == "fast", message="the second switch")
        fast = app.connection
        slow.set()
        await until(pilot, lambda: "slow" in connector.closed, message="the late connection closed")
        await pilot.pause(0.2)
        assert app.connection is fast and app.context_name == "fast" and app.namespace == "ns-fast"
        assert app.pending_context is None and "connecting to" not in _header(app)


async def test_a_switch_that_never_ends_fails_at_its_deadline(tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "CONNECT_DEADLINE", 0.3)
    monkeypatch.setattr(app_module, "SWITCH_GRACE", 0.2)
    connector = Connector()
    stuck = connector.behaviour["silent"] = threading.Event()
    app = _app(tmp_path, ["dev", "silent"], connector)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.connection is not None, message="first connection")
        dev = app.connection
        app._switch_context("silent")
        await until(pilot, lambda: app.pending_context is None, timeout=5, message="the deadline")
        assert any("did not answer" in n.message for n in app._notifications)
        stuck.set()  # it answers after all: too late, discarded
        await until(pilot, lambda: "silent" in connector.closed, message="the late connection closed")
        assert app.connection is dev and app.context_name == "dev"


@pytest.mark.parametrize("width", [120, 80])
async def test_header_keeps_readonly_and_health_with_a_long_context_name(width):
    app = fixture_app(readonly=True)
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        app._context_label = ARN
        app.watch_health = lambda: "reconnecting"
        app.dashboard.update_header()
        await pilot.pause()
        shown = _header(app)
        assert "READONLY" in shown and "● reconnecting" in shown, shown
        assert "ns default" in shown
        ctx = shown.split("ctx ", 1)[1].split("  ", 1)[0]
        assert "…" in ctx and ctx.startswith("arn:") and ctx.endswith("primary"), shown
        assert len(shown.strip()) <= width - 2  # one cell of padding each side


async def test_header_shows_a_pending_switch_next_to_the_current_context_at_80_columns():
    app = fixture_app(readonly=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app._context_label = ARN
        app.connection = SimpleNamespace(context_name=ARN)  # only its name is read here
        app.pending_context = ARN.replace("production", "staging")
        app.dashboard.update_header()
        await pilot.pause()
        shown = _header(app)
        assert "READONLY" in shown and "● live" in shown and "connecting to arn" in shown, shown
        assert shown.endswith("primary…")


@pytest.mark.parametrize("modal", [False, True], ids=["dashboard", "picker open"])
async def test_ctrl_c_quits(modal):
    app = fixture_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        if modal:
            await pilot.press("n")
            assert isinstance(app.screen, PickScreen)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app._exit


@pytest.mark.parametrize("pending", ["", "arn:aws:eks:eu-west-1:123456789012:cluster/payments-staging-primary"])
def test_header_text_keeps_the_safety_signals_at_every_width(pending):
    from kdash.widgets.status import header_text

    for width in range(60 if pending else 45, 200):
        plain = header_text(width, context=ARN, namespace="payments", version="v1.20.2", view="Deployments",
                            readonly=True, health="reconnecting", pending=pending).plain
        assert "READONLY" in plain and "● reconnecting" in plain and len(plain) <= width, (width, plain)
        assert ("connecting to " in plain) == bool(pending), (width, plain)
        if width >= (80 if pending else 60):
            # Enough of each name to tell it: both ends of the context, the namespace's start.
            assert "ctx arn" in plain and "rimary  ns pay" in plain, (width, plain)
