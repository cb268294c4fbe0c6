"""Snapshot tests of the main screens on fixture data with a frozen clock (80×24 and larger)."""

from __future__ import annotations

from tests.ui.fixture_app import fixture_app


class TestDashboardSnapshots:
    def test_workloads_80x24(self, snap_compare):
        assert snap_compare(fixture_app(), terminal_size=(80, 24))

    def test_workloads_with_details_120x40(self, snap_compare):
        assert snap_compare(fixture_app(), terminal_size=(120, 40), press=["down", "down"])

    def test_services_80x24(self, snap_compare):
        assert snap_compare(fixture_app(), terminal_size=(80, 24), press=["2"])

    def test_help_80x24(self, snap_compare):
        assert snap_compare(fixture_app(), terminal_size=(80, 24), press=["question_mark"])

    def test_light_theme(self, snap_compare):
        assert snap_compare(fixture_app(theme="kdash-light"), terminal_size=(100, 30))

    def test_mono_theme(self, snap_compare):
        assert snap_compare(fixture_app(theme="kdash-mono"), terminal_size=(100, 30))

    def test_no_color_80x24(self, snap_compare, monkeypatch):
        # Textual reads (and pops) NO_COLOR when the app is created.
        monkeypatch.setenv("NO_COLOR", "1")
        app = fixture_app()
        assert app.no_color
        assert snap_compare(app, terminal_size=(80, 24))

    def test_configmaps_100x30(self, snap_compare):
        assert snap_compare(fixture_app(), terminal_size=(100, 30), press=["3"])


class TestControllerSnapshots:
    def test_statefulsets_80x24(self, snap_compare):
        from tests.ui.controller_fixture import controller_app

        assert snap_compare(controller_app(), terminal_size=(80, 24), press=["4", "plus"])

    def test_daemonsets_80x24(self, snap_compare):
        from tests.ui.controller_fixture import controller_app

        assert snap_compare(controller_app(), terminal_size=(80, 24), press=["5", "plus"])
