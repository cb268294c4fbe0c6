"""Views 6 (Jobs) and 7 (Ingresses) and the HPA on its Deployment's line: what the widget shows."""

from __future__ import annotations

from kdash.screens.controller_views import INGRESSES, JOBS
from kdash.screens.dashboard import VIEWS, WORKLOADS
from tests.ui.kinds_fixture_app import kinds_app


def status_of(screen) -> str:
    return str(screen.query_one("#status").render())


async def test_key_6_shows_cronjobs_jobs_and_their_pods():
    app = kinds_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("6")
        await pilot.pause()
        screen = app.screen
        assert screen.view == JOBS
        await pilot.press("plus")  # expand all
        await pilot.pause()
        lines = screen.tree.displayed_lines()
        assert lines[0] == "cronjob cleanup  0 3 * * *  active 0  last schedule <none>  SUSPENDED"
        assert lines[1] == "cronjob report  */5 * * * *  active 1  last schedule 10m ago"
        assert lines[2:4] == ["  job report-29000010  Running  1/3  10m  10m",
                              "  job report-29000005  Complete  1/1  30s  15m"]
        assert "job migrate  Failed: BackoffLimitExceeded  0/1  60m  60m" in lines
        assert any(line.startswith("  pod migrate-x2  OOMKilled  0/1") for line in lines)
        assert "2 cj  6 jobs" in status_of(screen)


async def test_key_7_shows_the_canary_split_and_tab_cycles_every_view():
    app = kinds_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("7")
        await pilot.press("plus")
        await pilot.pause()
        screen = app.screen
        assert screen.view == INGRESSES
        lines = screen.tree.displayed_lines()
        assert "  shop.example.com/  web:80 80% · canary web-canary:80 20%, header X-Canary" in lines
        assert any(line.startswith("    svc web-canary  canary 20%, header X-Canary  ClusterIP") for line in lines)
        assert any(line.endswith("canary of web  50m") for line in lines)
        seen = []
        for _ in VIEWS:
            await pilot.press("tab")
            await pilot.pause()
            seen.append(screen.view)
        assert seen == [*VIEWS[VIEWS.index(INGRESSES) + 1:], *VIEWS[:VIEWS.index(INGRESSES) + 1]]


async def test_hpa_shows_on_its_deployments_line_with_metrics_unavailable():
    app = kinds_app()
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.view == WORKLOADS
        lines = screen.tree.displayed_lines()
        web = next(line for line in lines if line.startswith("web ") or line.startswith("default/web "))
        assert " ready  hpa 2-5 (2) metrics unavailable  up-to-date " in web
        assert not any("hpa" in line for line in lines if line.startswith(("api ", "worker ")))


async def test_an_unserved_kind_says_unavailable_not_error():
    app = kinds_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        app.store.replace("CronJob", None, [])
        app.store.set_state("CronJob", None, "unavailable", "cronjobs unavailable: the server serves none of …")
        app.dashboard.refresh_all()
        await pilot.press("6")
        await pilot.pause()
        lines = app.screen.tree.displayed_lines()
        assert lines[0] == "cronjobs: unavailable (this API server does not serve them)"
        assert lines[1].startswith("job ")


class TestKindsSnapshots:
    def test_jobs_80x24(self, snap_compare):
        assert snap_compare(kinds_app(), terminal_size=(80, 24), press=["6"])

    def test_ingresses_80x24(self, snap_compare):
        assert snap_compare(kinds_app(), terminal_size=(80, 24), press=["7", "plus"])
