"""Polling helper for Pilot tests: wait for a condition while the app keeps processing messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


async def until(pilot, predicate: Callable[[], Any], timeout: float = 60, message: str = "condition") -> Any:
    """Return `predicate()` once truthy, pausing the pilot between tries; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        await pilot.pause(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


def live_app(cluster, namespace: str, tmp_path=None, **overrides):
    """The real app against the local cluster, watching `namespace`, with default settings (never the
    user's settings.yaml) and, given `tmp_path`, an audit log there instead of the user's state dir."""
    from argparse import Namespace

    from kdash.actions.safety import AuditLog
    from kdash.app import make_app
    from kdash.config import Settings

    args = Namespace(kubeconfig=cluster.kubeconfig, context=None, namespace=namespace,
                     all_namespaces=False, readonly=False, theme=None)
    options: dict[str, Any] = {"settings": Settings()}
    if tmp_path is not None:
        options["audit"] = AuditLog(tmp_path / "audit.log")
    options.update(overrides)
    return make_app(args, **options)
