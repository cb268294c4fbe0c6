"""The debug self-check (settings `debug_selfcheck`) reports a tree widget that differs from a fresh build."""

from __future__ import annotations

import logging

from kdash.config import Settings
from tests.ui.tree_world import fed_app, item1_namespace


async def test_a_corrupted_widget_is_reported_with_the_changes_that_led_there(caplog):
    app = fed_app(settings=Settings(debug_selfcheck=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        for kind, objects in item1_namespace().items():
            app.put(kind, objects)
        await pilot.pause()
        check = app.dashboard.selfcheck
        assert check is not None
        assert check.check() is None  # a correct widget says nothing
        # Corrupt the widget behind the patcher's back: a phantom line under the bare-pods group.
        tree = app.dashboard.tree
        group = next(w for w in tree.root.children if "Pods without ReplicaSet" in str(w.label))
        group.add_leaf("pod phantom-0  Running", data="Pod/demo/phantom-0")
        await pilot.pause()
        with caplog.at_level(logging.ERROR, logger="kdash.selfcheck"):
            report = check.check()
        assert report is not None
        assert "+  pod phantom-0  Running" in report
        assert "Pod ADDED demo/solo-0" in report  # the store changes that led there
        assert any("phantom-0" in r.getMessage() for r in caplog.records)


async def test_the_check_waits_for_a_pending_flush():
    app = fed_app(settings=Settings(debug_selfcheck=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        world = item1_namespace()
        app.put("Deployment", world["Deployment"])
        await pilot.pause()
        from kdash.core.kinds import KINDS_BY_NAME
        from kdash.kube.objects import slim

        # In the store but not flushed yet: the widget may lag, that is no difference.
        app.store.replace("Pod", None, [slim(p, KINDS_BY_NAME["Pod"]) for p in world["Pod"]])
        assert app.dashboard.selfcheck.check() is None
        app.dashboard.refresh_data({"Pod"})
        await pilot.pause()
        assert app.dashboard.selfcheck.check() is None


def test_the_setting_is_read_from_settings_yaml(tmp_path):
    from kdash.config import load_settings

    path = tmp_path / "settings.yaml"
    path.write_text("debug_selfcheck: true\n")
    assert load_settings(path).debug_selfcheck is True
    path.write_text("debug_selfcheck: yes please\n")
    settings = load_settings(path)
    assert settings.debug_selfcheck is False and settings.warnings
