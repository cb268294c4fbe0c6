"""Trigger a CronJob now: prompt for the Job's name, server dry run (dryRun=All) as the preview, confirm, create."""

from __future__ import annotations

from kdash.actions import jobs as job_actions
from kdash.errors import KdashError
from kdash.screens.flows.host import FlowHost, Target
from kdash.screens.modals import PromptScreen
from kdash.screens.toasts import notify_error


def start(host: FlowHost, target: Target) -> None:
    name = job_actions.default_job_name(target.node.name)
    host.ask(PromptScreen(f"Trigger {target.what} now: Job name", name,
                          hint="a Job from its jobTemplate, as kubectl create job --from=cronjob/…"),
             job_actions.parse_job_name, lambda job: host.prepare(lambda: _preview(host, target, job)))


def _preview(host: FlowHost, target: Target, job: str) -> None:
    """Worker: the server checks (and defaults) the Job without storing it; a refusal is said, nothing asked."""
    app = host.app
    connection = app.connection
    cronjob = target.obj
    try:
        preview = job_actions.trigger(app.write_context(connection), cronjob, job, dry_run=True)
    except KdashError as exc:
        app.call_from_thread(notify_error, app, exc)
        return
    detail = f"{preview}\nJob {job}: the template's spec, owned by CronJob {target.node.name}, " \
             "annotated cronjob.kubernetes.io/instantiate=manual"
    app.call_from_thread(
        host.confirm_write, f"Trigger {target.what} now?", detail,
        lambda ctx: job_actions.trigger(ctx, cronjob, job), verb="Trigger", prepared_on=connection)
