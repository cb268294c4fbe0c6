"""Edit and apply driven through the UI over a scripted API: editor failures, protected apply, previews, toasts."""

from __future__ import annotations

import copy
import json
import logging
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from textual.geometry import Region

from kdash.actions.safety import AuditLog
from kdash.config import Settings
from kdash.kube.api import ApiClient, Configuration
from kdash.screens.apply_preview import ApplyPreviewScreen
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.help import HelpScreen
from kdash.screens.modals import PromptScreen
from kdash.screens.toasts import TOAST_CHARS, brief
from tests.ui.fixture_app import FIXTURE, fixture_app
from tests.ui.pilot_helpers import until
from tests.unit.test_actions_safety import FakeRest

CM_KEY = "ConfigMap/default/web-config"
CM_PATH = "/api/v1/namespaces/default/configmaps/web-config"
DISCOVERY = {"resources": [{"name": "configmaps", "kind": "ConfigMap", "namespaced": True}]}


def live_configmap() -> dict:
    """The fixture's ConfigMap as the API returns it: with what the store's slim copy lacks."""
    cm = copy.deepcopy(json.loads(FIXTURE.read_text())["configmaps"]["items"][0])
    cm.update(apiVersion="v1", kind="ConfigMap")
    cm["metadata"].update(
        ownerReferences=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-1"}],
        finalizers=["example.com/keep"], managedFields=[{"manager": "kubectl-create"}])
    return cm


class Terminal:
    """Replaces App.suspend (a headless app cannot suspend); like Textual, no resume after an exception."""

    def __init__(self) -> None:
        self.suspended = self.resumed = 0

    @contextmanager
    def suspend(self):
        self.suspended += 1
        yield
        self.resumed += 1


def editor(tmp_path: Path, code: str) -> str:
    """An editor program: Python `code` with `path` (the file) and `run` (1, 2, ... per invocation)."""
    script = tmp_path / "editor.py"
    script.write_text(f"#!{sys.executable}\nimport sys, pathlib\npath = pathlib.Path(sys.argv[1])\n"
                      f"counter = pathlib.Path({str(tmp_path / 'runs')!r})\n"
                      "run = int(counter.read_text()) + 1 if counter.exists() else 1\n"
                      "counter.write_text(str(run))\n"
                      f"pathlib.Path({str(tmp_path)!r}, f'seen-{{run}}').write_text(path.read_text())\n"
                      + textwrap.dedent(code))
    script.chmod(0o755)
    return str(script)


def use_editor(monkeypatch, command: str) -> None:
    monkeypatch.setenv("EDITOR", command)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("KUBE_EDITOR", raising=False)


def api_app(tmp_path: Path, rest: FakeRest, **settings):
    app = fixture_app(settings=Settings(**settings), audit=AuditLog(tmp_path / "audit.log"))
    client = ApiClient(Configuration(host="https://k8s.test"))
    client.rest_client = rest
    connection = SimpleNamespace(api_client=client, namespace="default", context_name="fixture",
                                 close=lambda: None)
    terminal = Terminal()
    app.suspend = terminal.suspend  # type: ignore[method-assign]
    return app, connection, terminal


async def start(pilot, app, connection, key: str | None = None) -> None:
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.context_name == "fixture",
                message="dashboard")
    app.connection = connection
    if key:
        await pilot.press("3")
        await until(pilot, lambda: app.screen.tree.node(key), message=key)
        assert app.screen.tree.select_key(key)


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def still_usable(pilot, app) -> None:
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen), message="the dashboard back")
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen), message="help opens: kdash still answers")
    await pilot.press("escape")


# -- the editor ----------------------------------------------------------------------------------


async def test_a_missing_editor_is_said_at_once_and_kdash_stays_usable(tmp_path, monkeypatch):
    use_editor(monkeypatch, "nano-not-installed-here")
    rest = FakeRest()
    app, connection, terminal = api_app(tmp_path, rest)
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, connection, CM_KEY)
        await pilot.press("e")
        await until(pilot, lambda: any("nano-not-installed-here" in m for m in messages(app)), message="toast")
        assert terminal.suspended == terminal.resumed == 0, "the terminal was never handed over"
        await still_usable(pilot, app)
    assert rest.requests == []


async def test_a_blank_editor_is_a_message_that_does_not_print_the_data(tmp_path, monkeypatch):
    use_editor(monkeypatch, "    ")
    rest = FakeRest()
    app, connection, terminal = api_app(tmp_path, rest)
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, connection, CM_KEY)
        await pilot.press("e")
        await until(pilot, lambda: any("blank" in m for m in messages(app)), message="toast")
        assert not any("listen 80" in m for m in messages(app))
        assert terminal.suspended == 0
        await still_usable(pilot, app)


async def test_an_editor_exiting_non_zero_changes_nothing(tmp_path, monkeypatch):
    rest = FakeRest()
    rest.on("GET", CM_PATH, body=live_configmap())
    use_editor(monkeypatch, editor(tmp_path, """
        path.write_text(path.read_text().replace("listen 80", "listen 81"))
        sys.exit(1)  # vim's :cq
    """))
    app, connection, terminal = api_app(tmp_path, rest)
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, connection, CM_KEY)
        await pilot.press("e")
        await until(pilot, lambda: any("exited with status 1" in m for m in messages(app)), message="toast")
        assert terminal.suspended == terminal.resumed == 1
        await still_usable(pilot, app)
    assert rest.writes() == []


async def test_invalid_yaml_reopens_the_editor_with_the_error_and_the_text_kept(tmp_path, monkeypatch):
    live = live_configmap()
    rest = FakeRest()
    rest.on("GET", CM_PATH, body=live)
    after = copy.deepcopy(live)
    after["data"]["index.html"] = "<h1>bye</h1>\n"
    after["metadata"]["resourceVersion"] = "41817"
    rest.on("PATCH", CM_PATH, body=after)
    use_editor(monkeypatch, editor(tmp_path, """
        text = path.read_text()
        if run == 1:  # a change, and a YAML mistake
            path.write_text(text.replace("<h1>h\\u00e9llo</h1>", "<h1>bye</h1>").replace("labels:", "labels: [", 1))
        else:  # the error is on top, the change is still there: fix only the mistake
            path.write_text(text.replace("labels: [", "labels:", 1))
    """))
    app, connection, terminal = api_app(tmp_path, rest)
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, connection, CM_KEY)
        await pilot.press("e")
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                              message="the save confirmation")
        assert terminal.suspended == terminal.resumed == 2
        second = (tmp_path / "seen-2").read_text()
        assert second.startswith("# ERROR: edited object, document 1, line ")
        assert "<h1>bye</h1>" in second and "labels: [" in second
        detail = confirm.query_one("#detail Static")
        shown = "\n".join(strip.text for strip in detail.render_lines(Region(0, 0, *detail.size)))
        assert "-  index.html: '<h1>héllo</h1>" in shown and "+  index.html: '<h1>bye</h1>" in shown
        assert "+++ edited ConfigMap/default/web-config" in shown
        await pilot.press("y")
        await until(pilot, lambda: len(rest.writes()) == 2, message="the save")
    dry_run, save = rest.writes()
    assert dry_run["query"].get("dryRun") == "All" and "dryRun" not in save["query"]
    assert save["content_type"] == "application/merge-patch+json"
    assert save["body"] == {"metadata": {"resourceVersion": "41816"}, "data": {"index.html": "<h1>bye</h1>\n"}}


async def test_saving_an_unfixed_error_again_cancels(tmp_path, monkeypatch):
    rest = FakeRest()
    rest.on("GET", CM_PATH, body=live_configmap())
    use_editor(monkeypatch, editor(tmp_path, """
        if run == 1:
            path.write_text(path.read_text().replace("labels:", "labels: [", 1))
    """))
    app, connection, terminal = api_app(tmp_path, rest)
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, connection, CM_KEY)
        await pilot.press("e")
        await until(pilot, lambda: any("Edit cancelled" in m for m in messages(app)), message="cancel")
        assert terminal.suspended == 2
        await still_usable(pilot, app)
    assert rest.writes() == []


# -- apply ---------------------------------------------------------------------------------------


def configmap_api(rest: FakeRest, patch_status: int = 200, patch_body: dict | None = None) -> None:
    rest.on("GET", "/api/v1", body=DISCOVERY)
    rest.on("PATCH", "/api/v1/namespaces/default/configmaps/a", status=patch_status,
            body=patch_body or {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "a", "namespace": "default"}, "data": {"x": "1"}})


async def open_preview(pilot, app, path: Path):
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, PromptScreen), message="the file prompt")
    app.screen.query_one("Input").value = str(path)
    await pilot.press("enter")


async def test_apply_on_a_protected_context_types_the_name_applies_and_keeps_running(tmp_path):
    rest = FakeRest()
    configmap_api(rest)
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n")
    app, connection, _ = api_app(tmp_path, rest, protected_contexts=["fixture"])
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, connection)
        await open_preview(pilot, app, manifest)
        await until(pilot, lambda: isinstance(app.screen, ApplyPreviewScreen), message="the preview")
        await pilot.click("#apply")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="typed-name confirmation")
        await pilot.press(*"fixture", "enter")
        await until(pilot, lambda: any(m.startswith("applied 1 objects") for m in messages(app)),
                    message="the apply's result")
        await still_usable(pilot, app)
    assert [w["query"] for w in rest.writes()] == [{"fieldManager": "kdash", "dryRun": "All"}] * 2 + [
        {"fieldManager": "kdash"}]


async def test_an_empty_file_says_nothing_to_apply(tmp_path):
    rest = FakeRest()
    manifest = tmp_path / "empty.yaml"
    manifest.write_text("# nothing yet\n---\n")
    app, connection, _ = api_app(tmp_path, rest)
    async with app.run_test(size=(110, 32)) as pilot:
        await start(pilot, app, connection)
        await open_preview(pilot, app, manifest)
        await until(pilot, lambda: any("Nothing to apply" in m for m in messages(app)), message="toast")
        assert isinstance(app.screen, DashboardScreen)
    assert rest.requests == []


async def test_take_over_is_offered_for_field_manager_conflicts_not_for_the_word_conflict(tmp_path):
    invalid = {"kind": "Status", "code": 422, "reason": "Invalid", "message": 'ConfigMap "a" is invalid'}
    conflict = {"kind": "Status", "code": 409, "reason": "Conflict", "message": "Apply failed with 1 conflict",
                "details": {"causes": [{"reason": "FieldManagerConflict", "field": ".data.x",
                                        "message": 'conflict with "kubectl-create" using v1'}]}}
    manifest = tmp_path / "conflict-fix.yaml"  # the word in a file name is no conflict
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n")
    for answer, status, offered in ((invalid, 422, False), (conflict, 409, True)):
        rest = FakeRest()
        configmap_api(rest, status, answer)
        app, connection, _ = api_app(tmp_path, rest)
        async with app.run_test(size=(110, 32)) as pilot:
            await start(pilot, app, connection)
            await open_preview(pilot, app, manifest)
            preview = await until(pilot, lambda: isinstance(app.screen, ApplyPreviewScreen) and app.screen,
                                  message="the preview")
            assert bool(preview.query("#force")) is offered, answer["reason"]
            assert preview.query_one("#apply").disabled


async def test_a_long_error_is_cut_in_the_toast_and_logged_whole(tmp_path, caplog):
    rest = FakeRest()
    manifest = tmp_path / "big.yaml"
    name = "x/" + "y" * 10_000
    manifest.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: '{name}'}}\n")
    app, connection, _ = api_app(tmp_path, rest)
    with caplog.at_level(logging.ERROR):
        async with app.run_test(size=(110, 32), notifications=True) as pilot:
            await start(pilot, app, connection)
            await open_preview(pilot, app, manifest)
            await until(pilot, lambda: app._notifications, message="toast")
            [message] = messages(app)
            assert len(message) < TOAST_CHARS + 100 and "more characters; full text in kdash.log" in message
            [toast] = await until(pilot, lambda: list(app.screen.query("Toast")), message="the toast")
            await pilot.pause(0.2)
            shown = [strip.text.strip() for strip in toast.render_lines(Region(0, 0, *toast.size))]
            assert 3 <= toast.region.height <= 10, shown  # a third of the screen at most
            assert "more characters" in " ".join(shown)
    assert any(name in record.getMessage() for record in caplog.records)


def test_brief_keeps_short_text_and_cuts_long_text_by_lines_then_characters():
    assert brief("one line") == "one line"
    assert brief("\n".join(f"line {i}" for i in range(10)), max_lines=3) == \
        "line 0\nline 1\nline 2… (7 more lines; full text in kdash.log)"
    assert brief("z" * 50, max_chars=10) == "zzzzzzzzzz… (40 more characters; full text in kdash.log)"


def shown_lines(widget) -> str:
    """What the widget draws, wrapped lines joined, runs of spaces as one."""
    return " ".join(" ".join(strip.text for strip in widget.render_lines(Region(0, 0, *widget.size))).split())


async def test_applying_to_an_object_being_deleted_says_so_in_the_preview(tmp_path):
    live = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "0"},
            "metadata": {"name": "a", "namespace": "default", "resourceVersion": "5", "finalizers": ["example.com/keep"],
                         "deletionTimestamp": "2026-12-07T01:00:00Z"}}
    rest = FakeRest()
    configmap_api(rest, patch_body=dict(live, data={"x": "1"}))
    rest.on("GET", "/api/v1/namespaces/default/configmaps/a", body=live)
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n")
    app, connection, _ = api_app(tmp_path, rest)
    async with app.run_test(size=(120, 32)) as pilot:
        await start(pilot, app, connection)
        await open_preview(pilot, app, manifest)
        preview = await until(pilot, lambda: isinstance(app.screen, ApplyPreviewScreen) and app.screen,
                              message="the preview")
        await pilot.pause(0.2)
        shown = shown_lines(preview.query_one("#plan"))
        assert "changed ConfigMap/default/a" in shown
        assert "being deleted since 2026-12-07T01:00:00Z, waiting for finalizers example.com/keep" in shown
        assert "does not stop the deletion" in shown
        assert "- x: '0'" in shown and "+ x: '1'" in shown, "the diff is shown too"


async def test_editing_an_object_being_deleted_says_so_before_and_after(tmp_path, monkeypatch):
    live = live_configmap()
    live["metadata"]["deletionTimestamp"] = "2026-12-07T01:00:00Z"
    rest = FakeRest()
    rest.on("GET", CM_PATH, body=live)
    rest.on("PATCH", CM_PATH, body=live)
    use_editor(monkeypatch, editor(tmp_path, """
        path.write_text(path.read_text().replace("app: web", "app: web2"))
    """))
    app, connection, _ = api_app(tmp_path, rest)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(pilot, app, connection, CM_KEY)
        await pilot.press("e")
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                              message="the save confirmation")
        await pilot.pause(0.2)
        assert "is being deleted since 2026-12-07T01:00:00Z" in shown_lines(confirm.query_one("#detail Static"))
        await pilot.press("y")
        await until(pilot, lambda: any("still being deleted" in m for m in messages(app)), message="the result")
