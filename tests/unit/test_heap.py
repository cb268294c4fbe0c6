"""HeapFreezer: no collections while a store loads, the loaded store frozen, reloads collected."""

from __future__ import annotations

import gc
import time
import weakref

import pytest

from kdash.heap import (
    DEEP_CLEAN_SECONDS,
    LOAD_TIMEOUT,
    MAX_REFREEZES,
    REFREEZE_AFTER_MS,
    REFREEZE_INTERVAL,
    HeapFreezer,
)


@pytest.fixture
def clocked():
    """An installed HeapFreezer on a clock the test moves (now[0]); uninstalled afterwards."""
    now = [0.0]
    heap = HeapFreezer(clock=lambda: now[0])
    heap.install()
    yield heap, now
    heap.uninstall()


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


def test_reloads_in_a_row_do_not_postpone_the_load_timeout():
    # A switch every 30 s onto stores that never finish listing: collections come back LOAD_TIMEOUT
    # after they went off, not LOAD_TIMEOUT after the last switch (they stayed off for good before).
    now = [0.0]
    heap = HeapFreezer(clock=lambda: now[0])
    heap.install()
    try:
        heap.loading()
        for _ in range(3):
            now[0] += LOAD_TIMEOUT / 2
            heap.loading()
            heap.check_timeout()
        assert gc.isenabled() and not heap.loading_store
    finally:
        heap.uninstall()
        gc.enable()


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


def test_a_first_load_asked_to_collect_frees_what_was_made_meanwhile(clocked):
    # The early start's load begins before the UI imports: their cyclic garbage must not be frozen.
    heap, _ = clocked
    heap.loading(collect_first=True)
    cycle = Cycle()
    gone = weakref.ref(cycle)
    del cycle
    heap.loaded()
    try:
        assert gone() is None and gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


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


def slow_full_collection(heap: HeapFreezer) -> None:
    heap._on_collection("start", {"generation": 2})
    time.sleep(REFREEZE_AFTER_MS / 1000 * 1.5)
    heap._on_collection("stop", {"generation": 2})


def test_a_slow_full_collection_freezes_its_survivors_but_not_young_garbage():
    now = [0.0]
    heap = HeapFreezer(clock=lambda: now[0])
    heap.install()
    try:
        heap.loading()
        heap.loaded()
        frozen = gc.get_freeze_count()
        survivor = [Cycle() for _ in range(100)]  # e.g. pods that arrived by watch since
        heap.tick()
        assert heap.refreezes == 0  # nothing slow happened: nothing to do
        slow_full_collection(heap)
        heap.tick()
        assert heap.refreezes == 0  # due, but not within REFREEZE_INTERVAL of the last freeze
        now[0] += REFREEZE_INTERVAL + 1
        garbage = Cycle()
        gone = weakref.ref(garbage)
        del garbage
        heap.tick()
        assert heap.refreezes == 1 and gc.get_freeze_count() >= frozen + 100
        assert gone() is None  # collected before the freeze, not frozen with the survivors
        # A fast full collection (or a young one) leaves the freeze as it is.
        heap._on_collection("start", {"generation": 2})
        heap._on_collection("stop", {"generation": 2})
        heap._on_collection("start", {"generation": 1})
        time.sleep(REFREEZE_AFTER_MS / 1000 * 1.5)
        heap._on_collection("stop", {"generation": 1})
        now[0] += REFREEZE_INTERVAL + 1
        heap.tick()
        assert heap.refreezes == 1
        # Freezes leak what dies cyclic later: after MAX_REFREEZES, the next one is a deep clean.
        for _ in range(MAX_REFREEZES - 1):
            slow_full_collection(heap)
            now[0] += REFREEZE_INTERVAL + 1
            heap.tick()
        assert heap.refreezes == MAX_REFREEZES and heap.deep_cleans == 0
        caught = Cycle()
        alive = weakref.ref(caught)
        del caught
        slow_full_collection(heap)
        now[0] += REFREEZE_INTERVAL + 1
        heap.tick()
        assert heap.deep_cleans == 1 and heap.refreezes == MAX_REFREEZES and alive() is None
        del survivor
    finally:
        heap.uninstall()
    assert gc.isenabled() and gc.get_freeze_count() == 0 and heap._on_collection not in gc.callbacks


def test_deep_clean_frees_cycles_that_a_freeze_caught(clocked):
    heap, now = clocked
    heap.loading()
    cycle = Cycle()  # alive at the freeze, garbage afterwards: out of the collector's sight
    alive = weakref.ref(cycle)
    heap.loaded()
    del cycle
    gc.collect()
    heap.tick()
    assert alive() is not None and heap.deep_cleans == 0
    now[0] += DEEP_CLEAN_SECONDS + 1
    heap.tick()
    assert alive() is None and heap.deep_cleans == 1 and gc.get_freeze_count() > 0


def test_freed_pages_go_back_after_a_reload_collection_and_a_deep_clean(monkeypatch, clocked):
    # The old store's objects were made on reflector threads: their arenas keep the pages unless
    # trimmed. A trim follows each collection that frees a store; none follows a plain freeze.
    trims: list[int] = []
    monkeypatch.setattr("kdash.heap.release_free_memory", lambda: trims.append(gc.get_freeze_count()))
    heap, now = clocked
    heap.loading()
    heap.loaded()
    assert trims == []  # the first load froze a store; nothing was freed
    heap.loading()
    heap.loaded()
    assert len(trims) == 1 and trims[0] == 0  # after the collection, before the new freeze
    now[0] += DEEP_CLEAN_SECONDS + 1
    heap.tick()
    assert len(trims) == 2 and heap.deep_cleans == 1


def test_the_allocator_calls_reach_glibc_where_it_is_the_libc():
    import platform

    from kdash import heap

    assert (heap._glibc() is not None) == (platform.libc_ver()[0] == "glibc")
    heap.cap_malloc_arenas()
    heap.release_free_memory()  # neither may raise, glibc or not
