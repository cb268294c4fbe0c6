"""--readonly blocks every write action of the registry: nothing is asked, nothing sent, one audit line."""

from __future__ import annotations

import pytest

from kdash.actions.registry import ACTIONS, write_actions
from kdash.actions.safety import AuditLog
from kdash.screens.dashboard import DashboardScreen
from tests.ui.controller_fixture import controller_app
from tests.ui.fixture_app import fixture_app
from tests.ui.kinds_fixture_app import kinds_app


def test_registry_has_write_actions_and_each_names_its_kinds():
    writes = write_actions()
    assert {a.id for a in writes} >= {"scale", "set_image", "undo", "restart", "delete_pod", "apply"}
    assert all(a.rbac or a.id == "apply" for a in writes)
    # Keys are unique within a screen: the dashboard's (plus the app's), and the logs screen's.
    for scope in ({"app", "view", "rollout", "pods"}, {"logs"}):
        keys = [k for a in ACTIONS if a.group in scope for k in a.keys.split(",")]
        assert len(keys) == len(set(keys)), f"two actions share a key in {scope}"
    # The logs screen shadows app keys only on purpose: q leaves the logs (as in k9s), not kdash.
    app_keys = {k for a in ACTIONS if a.group == "app" for k in a.keys.split(",")}
    logs_keys = {k for a in ACTIONS if a.group == "logs" for k in a.keys.split(",")}
    assert app_keys & logs_keys == {"q"}


@pytest.mark.parametrize("action", write_actions(), ids=lambda a: a.id)
async def test_readonly_blocks(action, tmp_path):
    audit = AuditLog(tmp_path / "audit.log")
    # A StatefulSet-only action needs the fixtures that hold StatefulSets, and their view; CronJob ones theirs.
    only_sts = action.kinds == ("StatefulSet",)
    app = (controller_app if only_sts else kinds_app if "CronJob" in action.kinds else fixture_app)(
        readonly=True, audit=audit)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        tree = screen.tree
        if action.kinds:
            view = "3" if "ConfigMap" in action.kinds else "4" if only_sts else \
                "6" if "CronJob" in action.kinds else None
            if view:
                await pilot.press(view)
                await pilot.pause()
            key = next(k for k in tree.keys() if k.startswith(action.kinds[0] + "/"))
            assert tree.select_key(key)
        await pilot.press(*action.keys.split(",")[0].split())
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen), "a read-only app must not open a prompt"
        assert any("read-only" in n.message.lower() for n in app._notifications)
        lines = audit.lines()
        assert len(lines) == 1 and lines[0]["result"] == "refused" and lines[0]["verb"] == action.id
