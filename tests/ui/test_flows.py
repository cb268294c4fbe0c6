"""Every registry row with a `flow` is reachable: a module with `start`, a key on the dashboard, a kind to act on."""

from __future__ import annotations

import importlib

import pytest

from kdash.actions.registry import ACTIONS
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.flows.host import FLOWS_PACKAGE

FLOW_ROWS = [a for a in ACTIONS if a.flow]


def test_the_rollout_writes_are_flows() -> None:
    assert {a.id for a in FLOW_ROWS} >= {"scale", "set_image", "history", "undo", "restart", "delete_pod",
                                         "restart_consumers"}


@pytest.mark.parametrize("action", FLOW_ROWS, ids=lambda a: a.id)
def test_a_flow_row_has_a_module_a_key_and_kinds(action) -> None:
    module = importlib.import_module(f"{FLOWS_PACKAGE}.{action.flow}")
    assert callable(module.start)
    # The host selects the target by kind before the flow runs: a row without kinds has nothing to pass.
    assert action.kinds
    assert callable(getattr(DashboardScreen, f"action_{action.id}"))
    assert action.id in {b.id for b in DashboardScreen.BINDINGS if hasattr(b, "id")}
    if action.writes:
        assert action.rbac is not None
