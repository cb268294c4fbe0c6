"""A forced exit runs the app's cleanup (stopping port-forwards, audited) first, but never waits on it for long."""

from __future__ import annotations

import threading
import time

from kdash import lifeline
from kdash.lifeline import Lifeline


def _forced_exit(monkeypatch, cleanup) -> tuple[list[str], float]:
    order: list[str] = []
    exited = threading.Event()

    def fake_exit(code: int) -> None:
        order.append("exit")
        exited.set()

    monkeypatch.setattr(lifeline.os, "_exit", fake_exit)
    line = Lifeline(lambda: None, None, grace=0, cleanup=lambda: cleanup(order))
    started = time.monotonic()
    line._thread.start()  # the watchdog alone: install() would take the test run's signals
    line.arm()
    assert exited.wait(5), "the process was never ended"
    return order, time.monotonic() - started


def test_a_forced_exit_runs_the_cleanup_before_ending_the_process(monkeypatch):
    order, _ = _forced_exit(monkeypatch, lambda order: order.append("cleanup"))
    assert order == ["cleanup", "exit"]


def test_a_stuck_cleanup_does_not_keep_the_process_alive(monkeypatch):
    monkeypatch.setattr(lifeline, "CLEANUP_GRACE", 0.2)
    order, elapsed = _forced_exit(monkeypatch, lambda order: threading.Event().wait(30))
    assert order == ["exit"] and elapsed < 2


def test_a_failing_cleanup_still_ends_the_process(monkeypatch):
    def fail(order):
        raise RuntimeError("boom")

    order, _ = _forced_exit(monkeypatch, fail)
    assert order == ["exit"]
