"""Pause and resume: confirm, then `kubectl rollout pause|resume`; a resume is watched like any rollout."""

from __future__ import annotations

from kdash.actions import pause as pause_action
from kdash.screens.flows import watch
from kdash.screens.flows.host import FlowHost, Target


def start(host: FlowHost, target: Target) -> None:
    pause_or_resume(host, target, pause=True)


def pause_or_resume(host: FlowHost, target: Target, *, pause: bool) -> None:
    node = target.node
    paused = bool((target.obj.get("spec") or {}).get("paused"))
    if paused == pause:
        host.app.notify(f"{target.what} is {'already' if paused else 'not'} paused", severity="warning")
        return
    verb = "Pause" if pause else "Resume"
    detail = ("Later changes (set image, apply) are staged, not rolled out, until resumed." if pause
              else "Rolls out whatever was staged while paused.")
    write = pause_action.pause if pause else pause_action.resume
    done = None if pause else watch.watch_after(host, node, target.obj, "resume", "staged changes")
    host.confirm_write(f"{verb} rollout of {target.what}?", detail,
                       lambda ctx: write(ctx, node.namespace, node.name), verb=verb, track_uid=node.uid, done=done)
