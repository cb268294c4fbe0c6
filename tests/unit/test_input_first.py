"""InputFirst: a key holds store flushes back until its frame, never longer than its limit, and no held flush is lost."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kdash.messages import InputFirst


def clocked(max_hold: float = 0.1):
    now = [0.0]
    return InputFirst(max_hold, clock=lambda: now[0]), now


def test_no_key_no_hold():
    first, _ = clocked()
    assert first.hold() == 0.0
    assert not first.displayed()
    assert not first.release()


def test_a_key_holds_a_flush_until_the_frame_after_its_binding():
    first, now = clocked()
    first.key()
    now[0] = 0.02
    assert first.hold() == 0.08  # the rest of the limit: when the app's timer gives up holding
    assert not first.displayed()  # a frame before the binding ran shows none of the key
    first.handled()
    assert first.displayed()  # the key's frame: the held flush goes now
    assert not first.holding and first.hold() == 0.0


def test_the_frame_releases_the_hold_even_without_a_held_flush():
    first, _ = clocked()
    first.key()
    first.handled()
    assert not first.displayed()  # nothing was held back: nothing to flush
    assert not first.holding


def test_the_limit_ends_a_hold_whose_key_never_reached_a_binding():
    first, now = clocked()
    first.key()
    assert first.hold() > 0
    now[0] = 0.1
    assert first.hold() == 0.0  # a text input took the key: the store waits no longer
    assert not first.holding


def test_a_second_key_does_not_extend_the_hold():
    first, now = clocked()
    first.key()
    now[0] = 0.09
    first.key()
    assert abs(first.hold() - 0.01) < 1e-9


class InputFirstMachine(RuleBasedStateMachine):
    """Random keys, bindings, frames, flush requests and time against what the app relies on:
    a flush asked for is either done at once or released exactly once (by the key's frame or the
    limit), and no flush waits past the limit after the key that held it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = [0.0]
        self.first = InputFirst(0.1, clock=lambda: self.now[0])
        self.timer_at: float | None = None  # the app's timer for a held flush
        self.waiting_since: float | None = None  # a flush asked for and not done yet

    def _flush(self) -> None:
        self.waiting_since = None

    def _release(self) -> None:  # KdashApp._release_held_flush
        self.first.release()
        self.timer_at = None
        self._flush()

    @rule()
    def key(self):
        self.first.key()

    @rule()
    def handled(self):
        self.first.handled()

    @rule()
    def frame(self):
        if self.first.displayed():
            self._release()

    @rule()
    def flush_asked(self):
        hold = self.first.hold()
        if hold > 0:
            if self.waiting_since is None:
                self.waiting_since = self.now[0]
            if self.timer_at is None:
                self.timer_at = self.now[0] + hold
        else:
            self._flush()

    @rule(seconds=st.floats(0.0, 0.2))
    def time_passes(self, seconds):
        self.now[0] += seconds
        if self.timer_at is not None and self.now[0] >= self.timer_at:
            self._release()

    @precondition(lambda self: self.waiting_since is not None)
    @invariant()
    def a_held_flush_has_a_timer_within_the_limit(self):
        assert self.timer_at is not None
        assert self.timer_at - self.waiting_since <= 0.1 + 1e-9

    @invariant()
    def no_flush_waits_past_the_limit(self):
        if self.waiting_since is not None:
            assert self.now[0] - self.waiting_since < 0.1 + 1e-9


InputFirstMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
test_input_first_machine = InputFirstMachine.TestCase
