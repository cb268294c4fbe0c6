"""Resume: the other half of flows/pause.py."""

from __future__ import annotations

from kdash.screens.flows.host import FlowHost, Target
from kdash.screens.flows.pause import pause_or_resume


def start(host: FlowHost, target: Target) -> None:
    pause_or_resume(host, target, pause=False)
