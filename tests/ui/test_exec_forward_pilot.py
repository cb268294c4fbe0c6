"""Exec and port-forward keys on the fixture dashboard: what is asked, what is shown, what is audited."""

from __future__ import annotations

import copy
from contextlib import nullcontext
from types import SimpleNamespace

from textual.widgets import DataTable

from kdash import exec_terminal
from kdash.actions import exec as exec_action
from kdash.actions import port_forward as forward_action
from kdash.actions.access import denied_actions
from kdash.actions.registry import ACTIONS
from kdash.actions.safety import AuditLog
from kdash.config import Settings
from kdash.kube import exec as kexec
from kdash.kube.portforward import ForwardStatus
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.exec_output import ExecOutputScreen
from kdash.screens.forwards import ForwardsScreen
from kdash.screens.modals import PromptScreen
from tests.ui.fixture_app import fixture_app
from tests.ui.pilot_helpers import until

CONNECTION = SimpleNamespace(api_client=object(), namespace="default", context_name="fixture", close=lambda: None)


def shown(widget) -> str:
    """The lines the widget paints, as text (a modal screen: its labels and texts), wrapped lines joined."""
    if widget.is_modal:
        return " ".join(shown(w) for w in widget.query("Label, Static, OptionList"))
    return " ".join(" ".join(widget.render_line(y).text.split()) for y in range(widget.size.height))


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def dashboard(pilot, app, key: str) -> None:
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.context_name == "fixture",
                message="dashboard")
    app.connection = CONNECTION
    if key.startswith(("Service/", "Endpoints/")):
        await pilot.press("2")
    await until(pilot, lambda: app.screen.tree.node(key), message=key)
    assert app.screen.tree.select_key(key)


def make_app(tmp_path, **settings):
    return fixture_app(settings=Settings(**settings), audit=AuditLog(tmp_path / "audit.log"))


# -- x: the shell ----------------------------------------------------------------------------------


async def test_x_on_a_deployment_confirms_then_hands_the_terminal_to_a_shell_in_a_ready_pod(tmp_path, monkeypatch):
    app = make_app(tmp_path, exec_shell="/busybox/sh")
    calls: list = []

    def run_shell(ctx, namespace, pod, container, drive, configured=None):
        calls.append((ctx.context_name, namespace, pod, container, drive, configured, suspended))
        return ["bash"], 0

    suspended: list = []

    def suspend():
        suspended.append(True)
        return nullcontext()

    monkeypatch.setattr(exec_action, "run_shell", run_shell)
    async with app.run_test(size=(110, 32)) as pilot:
        app.suspend = suspend  # type: ignore[method-assign]  # headless has no terminal to hand over
        await dashboard(pilot, app, "Deployment/default/api")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        # The only ready pods are api-58c4d7f9b6-*: the not-ready api-6f7d8c9b5-x1y2z is never picked.
        title = shown(app.screen.query_one("#title"))
        assert "Open a shell in pod default/api-58c4d7f9b6-aaaaa, container api?" in title
        assert "bash → sh → /busybox/sh" in shown(app.screen.query_one("#detail Static"))
        await pilot.press("y")
        await until(pilot, lambda: calls, message="the shell")
        assert calls == [("fixture", "default", "api-58c4d7f9b6-aaaaa", "api", exec_terminal.attach, "/busybox/sh",
                          [True])]
        await until(pilot, lambda: "bash in default/api-58c4d7f9b6-aaaaa exited with code 0" in messages(app),
                    message="the exit said")
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.tree.selected.key == "Deployment/default/api", "the dashboard is back as it was"


async def test_x_says_when_a_deployment_has_no_ready_pod(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await dashboard(pilot, app, "Deployment/default/worker")
        for pod in app.store.list("Pod", "default"):
            unready = copy.deepcopy(pod)  # the store's objects are immutable: a new version
            unready["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
            unready["metadata"]["resourceVersion"] += "1"
            app.store.upsert("Pod", unready)
        await pilot.press("x")
        await until(pilot, lambda: any("has no ready pod" in m for m in messages(app)), message="no ready pod")
        assert isinstance(app.screen, DashboardScreen)


async def test_a_shell_without_a_terminal_to_hand_over_says_so_and_keeps_the_dashboard(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await dashboard(pilot, app, "Pod/default/debug-shell")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        await pilot.press("y")
        await until(pilot, lambda: any("cannot hand the terminal over" in m for m in messages(app)),
                    message="the refusal")
        assert isinstance(app.screen, DashboardScreen)
        assert app.audit.lines() == []  # nothing was attempted


# -- X: one command ---------------------------------------------------------------------------------


async def test_shift_x_runs_a_command_and_shows_its_output_and_exit_code(tmp_path, monkeypatch):
    app = make_app(tmp_path)
    ran: list = []

    def run(api_client, namespace, pod, command, *, container=None, timeout=60.0):
        ran.append((namespace, pod, command, container))
        return kexec.ExecResult(b"DATASOURCE_NAME=postgres://db/users\n", b"warning: noisy\n", 3)

    monkeypatch.setattr(kexec, "run", run)
    async with app.run_test(size=(110, 32)) as pilot:
        await dashboard(pilot, app, "Pod/default/debug-shell")
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="command prompt")
        assert "in pod default/debug-shell container debug" in shown(app.screen)
        await pilot.press(*"printenv DATASOURCE_NAME", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        assert "Run printenv DATASOURCE_NAME in pod default/debug-shell, container debug?" in shown(app.screen.query_one("#title"))
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ExecOutputScreen), message="the output")
        await pilot.pause()
        output = shown(app.screen.query_one("#exec-output"))
        assert "DATASOURCE_NAME=postgres://db/users" in output and "warning: noisy" in output
        assert "exit code 3" in shown(app.screen.query_one("#exec-exit"))
        assert ran == [("default", "debug-shell", ["printenv", "DATASOURCE_NAME"], "debug")]
        (line,) = app.audit.lines()
        assert (line["verb"], line["object"], line["result"]) == ("exec", "Pod/default/debug-shell", "ok")
        assert "command printenv DATASOURCE_NAME" in line["detail"] and "exit code 3" in line["detail"]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), message="back")


async def test_shift_x_on_a_protected_context_wants_the_typed_name(tmp_path, monkeypatch):
    app = make_app(tmp_path, protected_contexts=["fixture"])
    monkeypatch.setattr(kexec, "run", lambda *a, **k: kexec.ExecResult(b"ok\n", b"", 0))
    async with app.run_test(size=(110, 32)) as pilot:
        await dashboard(pilot, app, "Pod/default/debug-shell")
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="command prompt")
        await pilot.press(*"id", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        assert "fixture is protected: type its name" in shown(app.screen)
        await pilot.press("enter")  # without the name: refused, still asking
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.audit.lines() == []
        await pilot.press(*"fixture", "enter")
        await until(pilot, lambda: isinstance(app.screen, ExecOutputScreen), message="the output")
        assert "exit code 0" in shown(app.screen.query_one("#exec-exit"))


async def test_an_unbalanced_command_is_said_and_nothing_runs(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(110, 32)) as pilot:
        await dashboard(pilot, app, "Pod/default/debug-shell")
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="command prompt")
        await pilot.press(*"echo 'oops", "enter")
        await until(pilot, lambda: any("No closing quotation" in m for m in messages(app)), message="the error")
        assert isinstance(app.screen, DashboardScreen) and app.audit.lines() == []


# -- F and p: forwards -------------------------------------------------------------------------------


class FakeForward:
    """A PortForward that binds nothing: the state the forwards view shows is set by the test."""

    made: list[FakeForward] = []

    def __init__(self, api_client, namespace, kind, name, remote_port, local_port=None, address="127.0.0.1"):
        self.namespace, self.kind, self.name = namespace, kind, name
        self.remote_port, self.local_port, self.address = remote_port, local_port, address
        self.state, self.reason, self.stopped = "active", "", False
        FakeForward.made.append(self)

    @property
    def local(self) -> str:
        return f"{self.address}:{self.local_port}"

    def start(self):
        return self

    def status(self) -> ForwardStatus:
        return ForwardStatus(f"{self.kind}/{self.namespace}/{self.name}:{self.remote_port}", self.local,
                             self.state, self.reason, "web-5b8f7c9d6-pqrst", 3, 1, 2048, 100)

    def stop(self) -> ForwardStatus:
        self.stopped, self.state = True, "stopped"
        return self.status()


async def test_shift_f_on_a_service_forwards_and_p_lists_and_stops_it(tmp_path, monkeypatch):
    FakeForward.made = []
    monkeypatch.setattr(forward_action, "PortForward", FakeForward)
    monkeypatch.setattr(forward_action, "suggest_local_port", lambda port, address: 8080)
    app = make_app(tmp_path)
    async with app.run_test(size=(130, 32)) as pilot:
        await dashboard(pilot, app, "Service/default/web")
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="local port prompt")
        assert "listens on 127.0.0.1, forwards to Service default/web:80" in shown(app.screen)
        await pilot.press("enter")  # the suggested port
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        assert "Forward 127.0.0.1:8080 → Service default/web:80?" in shown(app.screen.query_one("#title"))
        await pilot.press("y")
        await until(pilot, lambda: any(m.startswith("forwarding 127.0.0.1:8080") for m in messages(app)),
                    message="started")
        (forward,) = FakeForward.made
        assert (forward.kind, forward.name, forward.remote_port, forward.local_port) == ("Service", "web", 80, 8080)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ForwardsScreen), message="forwards view")
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: "127.0.0.1:8080" in shown(table), message="the row")
        row = shown(table)
        assert "Service/default/web:80" in row and "active" in row and "1/3" in row and "2.0 KiB" in row
        forward.state, forward.reason = "failed", "no ready pod behind port 80"
        await until(pilot, lambda: "failed: no ready pod behind port 80" in shown(table), message="failed state")
        await pilot.press("d")
        await until(pilot, lambda: forward.stopped and "no port-forwards" in shown(app.screen), message="stopped")
        start, stop = app.audit.lines()
        assert (start["verb"], start["object"], start["result"]) == ("port-forward", "Service/default/web", "ok")
        assert start["detail"].startswith("start 127.0.0.1:8080")
        assert stop["detail"].startswith("stop 127.0.0.1:8080: 3 connections")


async def test_capital_d_stops_every_forward_and_quitting_stops_the_rest(tmp_path, monkeypatch):
    FakeForward.made = []
    monkeypatch.setattr(forward_action, "PortForward", FakeForward)
    app = make_app(tmp_path)
    async with app.run_test(size=(130, 32)) as pilot:
        await dashboard(pilot, app, "Service/default/web")
        ctx = app.write_context()
        for port in (9001, 9002):
            app.forwards.start("default", "Service", "web", 80, port, ctx=ctx)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ForwardsScreen), message="forwards view")
        await until(pilot, lambda: "127.0.0.1:9002" in shown(app.screen.query_one(DataTable)), message="rows")
        await pilot.press("D")
        await until(pilot, lambda: all(f.stopped for f in FakeForward.made), message="all stopped")
        app.forwards.start("default", "Service", "web", 80, 9003, ctx=ctx)
        await pilot.press("escape", "q")
    assert all(f.stopped for f in FakeForward.made), "quitting stops the forwards"
    assert [line["detail"].split(":")[0] for line in app.audit.lines() if line["detail"].startswith("stop")] == [
        "stop 127.0.0.1", "stop 127.0.0.1", "stop 127.0.0.1"]


async def test_a_local_port_out_of_range_is_said_and_nothing_listens(tmp_path, monkeypatch):
    FakeForward.made = []
    monkeypatch.setattr(forward_action, "PortForward", FakeForward)
    app = make_app(tmp_path)
    async with app.run_test(size=(130, 32)) as pilot:
        await dashboard(pilot, app, "Pod/default/web-7d9c6b5f4-abcde")
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="local port prompt")
        await pilot.press("ctrl+u", *"70000", "enter")
        await until(pilot, lambda: any("out of range" in m for m in messages(app)), message="the error")
        assert isinstance(app.screen, DashboardScreen) and FakeForward.made == [] and app.audit.lines() == []


# -- RBAC greying agrees with the actions' own checks ----------------------------------------------


def test_rbac_greys_exec_unless_both_create_and_get_are_allowed(monkeypatch):
    import kdash.actions.access as access

    for refused in ("create", "get"):
        def can_i(api_client, verb, group, resource, namespace, refused=refused):
            return verb != refused or not resource.startswith("pods/")

        monkeypatch.setattr(access, "can_i", can_i)
        denied = denied_actions(None, ACTIONS, "default")
        assert {"exec", "exec_command", "port_forward"} <= denied, refused
        assert not exec_action.allowed(None, "default") and not forward_action.allowed(None, "default")
    monkeypatch.setattr(access, "can_i", lambda *a: True)
    assert not {"exec", "exec_command", "port_forward"} & denied_actions(None, ACTIONS, "default")


async def test_a_signal_exit_stops_the_forwards(tmp_path, monkeypatch):
    FakeForward.made = []
    monkeypatch.setattr(forward_action, "PortForward", FakeForward)
    app = make_app(tmp_path)
    async with app.run_test(size=(130, 32)) as pilot:
        await dashboard(pilot, app, "Service/default/web")
        app.forwards.start("default", "Service", "web", 80, 9005, ctx=app.write_context())
        app._exit_on_signal()  # what SIGTERM / SIGHUP / a hung-up terminal ask for
        await pilot.pause()
    (forward,) = FakeForward.made
    assert forward.stopped
    assert [line["detail"].split(":")[0] for line in app.audit.lines()] == ["start 127.0.0.1", "stop 127.0.0.1"]


async def test_shift_f_picks_among_a_services_ports_and_asks_for_a_port_a_pod_does_not_declare(tmp_path,
                                                                                                 monkeypatch):
    from kdash.screens.modals import PickScreen

    monkeypatch.setattr(forward_action, "suggest_local_port", lambda port, address: port + 1)
    app = make_app(tmp_path)
    async with app.run_test(size=(130, 32)) as pilot:
        await dashboard(pilot, app, "Service/default/api")
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, PickScreen), message="port picker")
        picker = shown(app.screen)
        assert "8080 http → 8080" in picker and "9090 metrics → metrics" in picker
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="local port prompt")
        assert "forwards to Service default/api:9090" in shown(app.screen)
        assert app.screen.query_one("LineInput").value == "9091"
        await pilot.press("escape")
        await pilot.press("1")
        await until(pilot, lambda: app.screen.tree.node("Pod/default/debug-shell"), message="the pod")
        assert app.screen.tree.select_key("Pod/default/debug-shell")
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="remote port prompt")
        assert "Pod default/debug-shell declares no TCP port" in shown(app.screen)
        await pilot.press(*"abc", "enter")
        await until(pilot, lambda: any("remote port 'abc' is not a number" in m for m in messages(app)),
                    message="the error")
        assert isinstance(app.screen, DashboardScreen) and app.audit.lines() == []
