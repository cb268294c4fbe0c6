"""Restart a ConfigMap's consumers: `R`, the offer when its data changes (watch mode), and opted-in auto-restarts."""

from __future__ import annotations

from typing import Any

from textual.timer import Timer

from kdash.actions import reload
from kdash.core.configmaps import restart_plan, wants_auto_restart
from kdash.core.objects import Obj, meta, uid
from kdash.core.stages import stage_order
from kdash.errors import KdashError
from kdash.screens.flows import staged_restart
from kdash.screens.flows.host import FlowHost, Target

# Opted-in consumers restart once their ConfigMap has been quiet this long: edits made in a
# burst (an editor saving twice, a script patching key by key) roll them once.
AUTO_RESTART_SETTLE_SECONDS = 2.0


def _offers(host: FlowHost) -> dict[tuple[str, str], list]:
    """(namespace, ConfigMap) -> [its open restart offer, how many changes it stands for]."""
    return host.flow_state(f"{__name__}.offers", dict)


def _timers(host: FlowHost) -> dict[tuple[str, str], Timer]:
    """(namespace, ConfigMap) -> the pending auto-restart (restarted when the data settles)."""
    return host.flow_state(f"{__name__}.timers", dict)


def start(host: FlowHost, target: Target) -> None:
    offer(host, target.obj, changed=False)


def configmaps_changed(host: FlowHost, configmaps: list[Obj]) -> None:
    """Watch mode: a real data change offers to restart the consumers that don't run it yet
    (or says so, read-only); opted-in consumers restart by themselves once the data settles."""
    app = host.app
    for configmap in configmaps:
        namespace, cm_name = meta(configmap)["namespace"], meta(configmap)["name"]
        items = [i for i in restart_plan(configmap, app.store.list("Deployment", namespace)) if i.needed]
        if not items:
            continue
        if app.readonly:
            users = ", ".join(i.consumer.deployment for i in items)
            app.notify(f"ConfigMap {namespace}/{cm_name} changed; {users} still run the old "
                       "data (read-only: not restarting)", severity="warning", timeout=10)
            continue
        auto = frozenset(i.consumer.deployment for i in items if wants_auto_restart(i.deployment, cm_name))
        if auto:
            _auto_restart_soon(host, namespace, cm_name)
        if len(auto) < len(items):
            offer(host, configmap, changed=True, skip=auto)


def offer(host: FlowHost, configmap: Obj, *, changed: bool, skip: frozenset[str] = frozenset()) -> None:
    """Ask to restart the consumers that don't yet run this ConfigMap's data (watch mode and `R`).

    One offer per ConfigMap: while it is open, a further change retitles it rather than
    stacking a second one. Whenever it is answered, the restart stamps the data the
    ConfigMap holds then (see reload.restart_for_configmap). `skip` names consumers that
    restart automatically.
    """
    app = host.app
    namespace, cm_name = meta(configmap)["namespace"], meta(configmap)["name"]
    items = [i for i in restart_plan(configmap, app.store.list("Deployment", namespace))
             if i.consumer.deployment not in skip]
    pending = [i for i in items if i.needed]
    name = f"ConfigMap {namespace}/{cm_name}"
    if not pending:
        if not changed:
            used = ", ".join(i.consumer.deployment for i in items)
            app.notify(f"{name}: " + (f"{used} already run{'s' if len(items) == 1 else ''} this data"
                                      if items else "no Deployment uses it"), timeout=6)
        return
    users = ", ".join(i.consumer.deployment for i in pending)
    verb = "uses" if len(pending) == 1 else "use"
    offers = _offers(host)
    key = (namespace, cm_name)
    open_offer = offers.get(key)
    if open_offer is not None and open_offer[0] in app.screen_stack:
        open_offer[1] += 1
        times = "" if open_offer[1] == 1 else f" {open_offer[1]} times"
        open_offer[0].retitle(f"{name} changed{times}. {users} {verb} this ConfigMap — restart with its "
                              "latest data?")
        return
    title = f"{name} changed. {users} {verb} this ConfigMap — restart?" if changed else \
        f"Restart {users} for {name}?"
    detail = "\n".join(f"{i.consumer.deployment}: via {', '.join(i.consumer.how)}" for i in pending)
    done = [i.consumer.deployment for i in items if not i.needed]
    if done:
        detail += f"\nalready on this data, left alone: {', '.join(done)}"
    detail += "\nStamps the data the ConfigMap holds when you confirm; consumers already on it are left alone."
    names = stage_order(i.deployment for i in pending)
    screen = staged_restart.confirm(host, namespace, cm_name, names, title, detail,
                                    answered=lambda _yes: offers.pop(key, None))
    offers[key] = [screen, 1 if changed else 0]


def _auto_restart_soon(host: FlowHost, namespace: str, cm_name: str) -> None:
    """Restart the opted-in consumers once the ConfigMap has not changed for a settle window,
    so a burst of edits rolls them once, with the final data."""
    key = (namespace, cm_name)
    timers = _timers(host)
    timer = timers.pop(key, None)
    if timer is not None:
        timer.stop()
    store = host.app.store
    timers[key] = host.set_timer(AUTO_RESTART_SETTLE_SECONDS,
                                 lambda: _auto_restart_now(host, store, namespace, cm_name))


def _auto_restart_now(host: FlowHost, store: Any, namespace: str, cm_name: str) -> None:
    app = host.app
    _timers(host).pop((namespace, cm_name), None)
    configmap = store.get("ConfigMap", namespace, cm_name)
    # Another context or namespace since (a new store), or read-only now: not this restart.
    if app.store is not store or app.readonly or configmap is None:
        return
    items = [i for i in restart_plan(configmap, store.list("Deployment", namespace))
             if i.needed and wants_auto_restart(i.deployment, cm_name)]
    if items:
        for item in items:
            app.track_rollout(uid(item.deployment))
        names = [i.consumer.deployment for i in items]
        host.run_worker(lambda: _auto_restart(host, namespace, cm_name, names), thread=True, group="write")


def _auto_restart(host: FlowHost, namespace: str, cm_name: str, deployments: list[str]) -> None:
    """Worker: opted-in consumers (Reloader or kdash annotations) restart without asking; each is audited."""
    app = host.app
    try:
        message = reload.restart_consumers(app.write_context(), namespace, cm_name, deployments)
    except KdashError as exc:
        app.notify(exc.message, title=exc.title, severity="error", timeout=12)
        return
    app.notify(message, title="Auto-restart", timeout=8)
