"""A write key pressed on an object it does not apply to says what it applies to (fixture app)."""

from __future__ import annotations

import pytest

from kdash.actions.safety import AuditLog
from kdash.screens.dashboard import DashboardScreen
from tests.ui.fixture_app import fixture_app


@pytest.mark.parametrize("readonly", [False, True], ids=["writable", "read-only"])
async def test_ctrl_d_on_a_deployment_says_it_deletes_pods(readonly, tmp_path):
    audit = AuditLog(tmp_path / "audit.log")
    app = fixture_app(readonly=readonly, audit=audit)
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        assert app.screen.tree.select_key("Deployment/default/api")
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        (note,) = app._notifications
        assert note.message.startswith("ctrl+d: Delete the selected Pod")
        assert "works on a Pod or Job; Deployment default/api is selected" in note.message
        # Not a refused write: nothing to audit, whatever the context.
        assert audit.lines() == []


async def test_a_key_dimmed_by_rbac_says_why_instead_of_nothing(tmp_path):
    app = fixture_app(audit=AuditLog(tmp_path / "audit.log"))
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        app.denied = {"delete_pod", "undo"}  # what a SelfSubjectAccessReview refused
        app.screen.refresh_bindings()
        assert app.screen.tree.select_key("Deployment/default/api")
        await pilot.press("ctrl+d", "U")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert [n.message for n in app._notifications] == [
            "ctrl+d: RBAC: you may not delete pod here", "U: RBAC: you may not undo here"]
