"""The fixture cluster with terminal control sequences in every free-text field, and a screen walker."""

from __future__ import annotations

import re
from argparse import Namespace
from datetime import datetime

from kdash.app import make_app
from kdash.config import Settings
from tests.ui.fixture_app import FixtureApp

# OSC 2 (window title), OSC 52 (clipboard write), CSI (clear screen, colour), BEL, C1 CSI (0x9b),
# carriage return, backspace, DEL, NUL and a C1 OSC (0x9d): each one a terminal would act on.
HOSTILE = ("x\x1b]2;PWNED\x07y \x1b]52;c;cHduZWQ=\x07 \x1b[2J\x1b[31mred\x1b[0m \x07bell "
           "\x9b31mc1 \rcr \x08bs \x7fdel \x00nul \x9d0;osc\x9c end"
           # Markup is no terminal control, but read as markup it crashes a widget ([/x]), makes a
           # hyperlink (OSC 8) or a click that runs an action.
           " [/oops] [link=https://evil.example]link[/link] [@click=app.quit]click[/]")
HOSTILE_NAME = "evil\x1b]2;NAME\x07"
# What must never reach the screen's text: C0 (tab included: it moves the cursor), DEL, C1.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _poison_meta(obj: dict) -> None:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("annotations", {})["evil"] = HOSTILE
    meta["annotations"]["kubernetes.io/change-cause"] = "deploy " + HOSTILE
    meta.setdefault("labels", {})["note"] = HOSTILE


def _poison_status(obj: dict) -> None:
    status = obj.setdefault("status", {})
    for condition in status.get("conditions") or []:
        condition["message"] = HOSTILE
        condition["reason"] = "Reason" + HOSTILE
    if obj.get("kind") == "Pod" or "containerStatuses" in status:
        status["message"] = HOSTILE
        status["reason"] = "Evicted" + HOSTILE
        for container in status.get("containerStatuses") or []:
            container["state"] = {"waiting": {"reason": "Crash" + HOSTILE, "message": HOSTILE}}


def hostile_data(data: dict) -> dict:
    """`data` (cluster.json) with HOSTILE in annotations, labels, ConfigMap data, events, status
    messages, a Deployment's and a ConfigMap's name."""
    for list_name in ("deployments", "replicasets", "pods", "services", "endpoints", "configmaps"):
        for obj in data[list_name]["items"]:
            _poison_meta(obj)
            _poison_status(obj)
    for event in data["events"]["items"]:
        event["message"] = HOSTILE
        event["reason"] = "Bad" + HOSTILE
    for configmap in data["configmaps"]["items"]:
        configmap.setdefault("data", {})["evil"] = HOSTILE
        configmap["data"]["script.sh"] = "#!/bin/sh\n\techo " + HOSTILE + "\n"
    worker = next(d for d in data["deployments"]["items"] if d["metadata"]["name"] == "worker")
    worker["metadata"]["name"] = HOSTILE_NAME
    extra = dict(data["configmaps"]["items"][0])
    extra["metadata"] = dict(extra["metadata"], name=HOSTILE_NAME, uid="hostile-cm-uid")
    data["configmaps"]["items"].append(extra)
    return data


class HostileApp(FixtureApp):
    """The fixture app over hostile_data(), in a context whose name is hostile too."""

    def fixture_data(self) -> dict:
        return hostile_data(super().fixture_data())

    def connect_and_watch(self, context: str | None) -> None:
        super().connect_and_watch(context)
        self.context_name = "ctx" + HOSTILE  # a kubeconfig is data too


def hostile_app(**overrides) -> HostileApp:
    data = FixtureApp.fixture_data(None)  # type: ignore[arg-type]
    now = datetime.fromisoformat(data["now"].replace("Z", "+00:00"))
    args = Namespace(kubeconfig=None, context=None, namespace="default", all_namespaces=False,
                     readonly=False, theme=None)
    options = dict(clock=lambda: now, settings=Settings())
    options.update(overrides)
    return make_app(args, app_class=HostileApp, **options)


def screen_controls(app) -> list[str]:
    """Every piece of text on the whole screen (all layers: dashboard, modals, toasts, footer), as
    the compositor hands it to the driver, that holds a control character or a hyperlink the
    data asked for."""
    found = []
    for strip in app.screen._compositor.render_strips():
        for text, style, control in strip:
            if not control and CONTROL.search(text):
                found.append(text)
            if style is not None and "evil.example" in (style.link or ""):
                found.append(f"hyperlink {style.link} on {text!r}")  # markup from the data, obeyed
    return found


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
