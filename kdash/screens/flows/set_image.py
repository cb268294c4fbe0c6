"""Set image: pick the container (if more than one), prompt for the image, confirm, patch."""

from __future__ import annotations

from kdash.actions import image as image_action
from kdash.screens.flows.host import FlowHost, Target
from kdash.screens.modals import PickScreen, PromptScreen


def start(host: FlowHost, target: Target) -> None:
    refs = image_action.containers(target.obj)
    if len(refs) == 1:
        _prompt(host, target, refs[0])
        return
    choices = [(r.name, f"{'init ' if r.init else ''}{r.name}  {r.image}") for r in refs]

    def picked(name: str | None) -> None:
        ref = next((r for r in refs if r.name == name), None)
        if ref is not None:
            _prompt(host, target, ref)

    host.app.push_screen(PickScreen("Container", choices), picked)


def _prompt(host: FlowHost, target: Target, ref: image_action.ContainerRef) -> None:
    def entered(image: str) -> None:
        if image == ref.image:
            host.app.notify(f"{ref.name} already runs {image}", severity="warning")
            return
        host.confirm_write(
            f"Set image of {ref.name} in {target.what}?", f"{ref.image}\n→ {image}",
            lambda ctx: image_action.set_image(ctx, target.obj, ref.name, image),
            verb="Set image", track_uid=target.node.uid)

    kind = "init container" if ref.init else "container"
    host.ask(PromptScreen(f"Image for {kind} {ref.name}", ref.image, hint=f"now: {ref.image}"),
             image_action.parse_image, entered)
