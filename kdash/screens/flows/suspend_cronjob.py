"""Suspend a CronJob (no new Jobs; running ones go on) or resume a suspended one."""

from __future__ import annotations

from kdash.actions import jobs as job_actions
from kdash.screens.flows.host import FlowHost, Target


def start(host: FlowHost, target: Target) -> None:
    cronjob = target.obj
    suspend = not (cronjob.get("spec") or {}).get("suspend")
    verb = "Suspend" if suspend else "Resume"
    detail = ("No new Jobs are scheduled until resumed; running Jobs go on." if suspend
              else f"Jobs are scheduled again ({(cronjob.get('spec') or {}).get('schedule', '')}).")
    host.confirm_write(f"{verb} {target.what}?", detail,
                       lambda ctx: job_actions.set_suspend(ctx, cronjob, suspend), verb=verb)
