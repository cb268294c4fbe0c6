"""HeapFreezer: no collections while a store loads, the loaded store frozen, reloads collected."""

from __future__ import annotations

import gc
import weakref

from kdash.heap import LOAD_TIMEOUT, HeapFreezer


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_no_collections_while_loading_then_the_load_is_frozen():
    now = [0.0]
    heap = HeapFreezer(clock=lambda: now[0])
    heap.install()
    try:
        heap.loading()
        assert not gc.isenabled() and heap.loading_store
        heap.loaded()
        assert gc.isenabled() and gc.get_freeze_count() > 0 and not heap.loading_store
        # A reload (namespace or context switch) unfreezes; its end collects before freezing.
        cycle = Cycle()
        gone = weakref.ref(cycle)
        del cycle
        heap.loading()
        assert gc.get_freeze_count() == 0 and not gc.isenabled()
        heap.loaded()
        assert gone() is None and gc.isenabled()
        # A load that never ends gives collections back after LOAD_TIMEOUT.
        heap.loading()
        heap.check_timeout()
        assert not gc.isenabled()
        now[0] += LOAD_TIMEOUT + 1
        heap.check_timeout()
        assert gc.isenabled()
    finally:
        heap.uninstall()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_cycle_frozen_with_a_store_is_freed_by_the_next_reload():
    heap = HeapFreezer()
    heap.install()
    try:
        heap.loading()
        cycle = Cycle()  # e.g. the old store, caught in a reference cycle
        alive = weakref.ref(cycle)
        heap.loaded()
        del cycle
        gc.collect()
        assert alive() is not None  # frozen: out of the collector's sight
        heap.loading()
        heap.loaded()
        assert alive() is None
    finally:
        heap.uninstall()


def test_uninstall_while_loading_turns_collections_back_on():
    heap = HeapFreezer()
    heap.install()
    heap.loading()
    heap.uninstall()
    assert gc.isenabled()


def test_a_startup_freeze_by_someone_else_is_left_alone():
    heap = HeapFreezer()
    heap.install()
    try:
        gc.freeze()  # e.g. the app freezing its start-up objects
        heap.loading()
        assert gc.get_freeze_count() > 0 and not heap._collect_first
        heap.loaded()
    finally:
        heap.uninstall()
        gc.unfreeze()


def test_not_installed_does_nothing():
    heap = HeapFreezer()
    heap.loading()
    assert gc.isenabled() and not heap.loading_store
