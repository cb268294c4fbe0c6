"""Views 6/7 and the CronJob/Job writes driven through the UI on the real control plane (1.20:
CronJob batch/v1beta1, HPA autoscaling/v2beta2): what the widget shows equals what kubectl says."""

from __future__ import annotations

import asyncio
import json

import pytest

from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.modals import PromptScreen
from tests.ui.pilot_helpers import live_app, until

pytestmark = pytest.mark.cluster

CRONJOB = """
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: busybox:1.36}]
"""


async def _kubectl(kubectl, *args, **kwargs):
    return await asyncio.to_thread(kubectl, *args, **kwargs)


async def _json(kubectl, namespace: str, what: str) -> dict:
    return json.loads(await _kubectl(kubectl, "get", what, "-n", namespace, "-o", "json"))


def _line(app, start: str) -> str | None:
    return next((line.strip() for line in app.screen.tree.displayed_lines() if line.strip().startswith(start)), None)


async def test_trigger_suspend_and_delete_from_the_jobs_view(cluster, kubectl, namespace, tmp_path):
    await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=CRONJOB)
    app = live_app(cluster, namespace, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), message="dashboard")
        await pilot.press("6")
        key = f"CronJob/{namespace}/report"
        await until(pilot, lambda: app.screen.tree.node(key), message="the CronJob in view 6")
        assert _line(app, "cronjob report") == "cronjob report  0 3 * * *  active 0  last schedule <none>"
        assert app.screen.tree.select_key(key)
        # Trigger now: name prompt (a bad name changes nothing), dry-run preview, confirm.
        await pilot.press("t")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("Input").value = ""
        await pilot.press(*"Bad_Name", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("t")
        app.screen.query_one("Input").value = ""
        await pilot.press(*"report-now", "enter")
        confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                              message="trigger confirmation")
        assert f"dry run: would create Job {namespace}/report-now from CronJob report" in str(confirm._detail)
        await pilot.press("y")
        await until(pilot, lambda: (_line(app, "job report-now") or "").startswith("job report-now  Complete  1/1"),
                    timeout=60, message="the triggered Job Complete under its CronJob")
        kubectl_row = (await _kubectl(kubectl, "get", "job", "report-now", "-n", namespace, "--no-headers")).split()
        assert kubectl_row[1] == "1/1"
        # Suspend: the line says so, kubectl agrees.
        assert app.screen.tree.select_key(key)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="suspend confirmation")
        await pilot.press("y")
        await until(pilot, lambda: (_line(app, "cronjob report") or "").endswith("SUSPENDED"), timeout=30,
                    message="SUSPENDED on the line")
        assert (await _json(kubectl, namespace, "cronjob/report"))["spec"]["suspend"] is True
        # Delete the Job: it and its pods go.
        job_key = f"Job/{namespace}/report-now"
        assert app.screen.tree.select_key(job_key)
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="delete confirmation")
        await pilot.press("y")
        await until(pilot, lambda: app.screen.tree.node(job_key) is None, timeout=30, message="the Job gone")
        await until(pilot, lambda: kubectl("get", "jobs,pods", "-n", namespace, "-o", "name") == "", timeout=60,
                    message="job and pods gone (kubectl)")
    assert [(l["verb"], l["dry_run"], l["result"]) for l in app.audit.lines()] == [
        ("trigger", True, "ok"), ("trigger", False, "ok"), ("suspend", False, "ok"), ("delete", False, "ok")]
