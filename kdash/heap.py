"""Keep Python's cyclic garbage collector out of the way while a store loads, then off the store.

A full (generation 2) collection walks every tracked container in the process. While the first
lists of 10k pods came in, CPython ran about ten of them, each walking everything parsed so far:
2.4 s of a 6.3 s start on the 2-core bench machine (docs/performance.md). Everything those
collections walk is alive (the objects are being stored), so:

- while a store loads (after connecting, or switching namespace or context), collections are
  off (at most LOAD_TIMEOUT seconds);
- once every kind has listed, everything alive is moved to the permanent generation
  (`gc.freeze()`), so later full collections skip what start-up made: the modules, the UI's
  widgets. The store itself is out of the walk from the start (Pods are records,
  core/records.py; every other kind frozen JSON, core/frozen.py; no reference cycles either:
  reference counting frees an object when it is replaced).

Under churn the UI makes new tracked objects (tree lines, strips, tables) outside the freeze, and
full collections walk more and more of them (before the store was out of the walk: up to 0.26 s
each at 10k pods in a 30 s bench). So:

- after a full collection that took longer than REFREEZE_AFTER_MS, the survivors are frozen
  too (on the next `tick`, after collecting the young generations; at most every
  REFREEZE_INTERVAL): the next full collections walk only what came since. The threshold is
  high because the store is out of the walk: what is left to walk is rarely worth the leak
  below, which each reload's collection then has to free;
- a freeze leaks what was alive and cyclic at that instant and dies later: Textual's render
  artefacts (a Strip caches itself in its crop cache; a closed screen and its widgets), ~5-10k
  objects a freeze under the bench's churn (25-35k after 4 refreezes at 2k and 10k pods, on top
  of the start-up freeze's 16-19k); freezing after *every* full collection froze 42k in 20 s at
  2k pods. So freezes are rare and bounded: after MAX_REFREEZES of them, or
  DEEP_CLEAN_SECONDS after the last clean, everything is unfrozen, collected and frozen again,
  which frees them (one full collection over the whole heap: ~0.2 s at 2k pods, ~0.4-0.6 s at
  10k, at most every 2 minutes under heavy churn, every 10 minutes otherwise).

On a reload, the previous freeze is undone and a full collection runs before the next one, so an
old store caught in a cycle is freed.

Freed memory goes back to the system too (glibc only, else nothing happens): the store's objects
are made on reflector threads and freed on the UI thread, so each thread's malloc arena keeps
free pages that RSS counts; after a reload's or a deep clean's collection `malloc_trim` returns
them, and the arenas are capped (ARENA_MAX) before any thread starts.
"""

from __future__ import annotations

import functools
import gc
import time
from typing import Any

LOAD_TIMEOUT = 60.0  # collections come back on after this long, even if a list never ends
REFREEZE_AFTER_MS = 100.0  # a full collection slower than this freezes its survivors...
REFREEZE_INTERVAL = 10.0  # ... at most this often
MAX_REFREEZES = 12  # then a deep clean: unfreeze + collect + freeze, to free what freezes leaked
DEEP_CLEAN_SECONDS = 600.0  # and at least this often while there is a freeze of ours
ARENA_MAX = 2  # glibc's default is 8 per core: one per reflector thread, each holding freed pages
_M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)


@functools.cache
def _glibc() -> Any:
    """The C library's functions if it is glibc, else None; loaded on first use, not at import
    (ctypes is not needed for the first frame)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)  # the symbols the interpreter is linked with: its libc
        libc.gnu_get_libc_version  # noqa: B018 - raises AttributeError on a libc that is not glibc
        return libc
    except (OSError, AttributeError):
        return None


def cap_malloc_arenas() -> None:
    """Before threads start: at most ARENA_MAX malloc arenas (glibc; elsewhere nothing)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, ARENA_MAX)


def release_free_memory() -> None:
    """Give the allocator's free pages back to the system (glibc; elsewhere nothing)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


class HeapFreezer:
    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._installed = False
        self._loading_since: float | None = None
        self._froze_store = False  # a freeze of ours may hold a store (start-up freezes do not)
        self._collect_first = False
        self._full_started = 0.0
        self._refreeze_due = False
        self._cleaned_at = self._frozen_at = clock()
        self._since_clean = 0  # refreezes since the last deep clean
        self.refreezes = 0
        self.deep_cleans = 0

    def install(self) -> None:
        if not self._installed:
            self._installed = True
            cap_malloc_arenas()  # before the reflector threads start
            gc.callbacks.append(self._on_collection)

    def uninstall(self) -> None:
        if self._installed:
            self._installed = False
            gc.callbacks.remove(self._on_collection)
            if self._froze_store:
                gc.unfreeze()
                self._froze_store = False
            if self._loading_since is not None:
                self._loading_since = None
                gc.enable()

    @property
    def loading_store(self) -> bool:
        return self._loading_since is not None

    def loading(self, collect_first: bool = False) -> None:
        """A store (re)load starts: no collections until it is in (all they would find is it).
        `collect_first`: collect once before the freeze at its end (what else was made meanwhile,
        e.g. the imports' garbage when the load starts before the UI is imported)."""
        if not self._installed:
            return
        self._collect_first = self._collect_first or collect_first
        if self._froze_store:
            gc.unfreeze()  # the previous store may now sit in garbage cycles: collect before freezing
            self._froze_store = False
            self._collect_first = True
        if self._loading_since is None:
            gc.disable()
            # Not moved by a further reload while this one is still loading: switches every few
            # seconds onto a store that never completes would otherwise keep collections off forever.
            self._loading_since = self._clock()

    def loaded(self) -> None:
        """The store holds a full sync: freeze it and turn collections back on."""
        if self._loading_since is None:
            return
        self._loading_since = None
        if self._collect_first:
            self._collect_first = False
            gc.collect()
            release_free_memory()  # the old store's pages
        gc.freeze()
        gc.enable()
        self._froze_store = True
        self._cleaned_at = self._frozen_at = self._clock()
        self._since_clean = 0

    def _on_collection(self, phase: str, info: dict) -> None:
        # Runs inside the collector: only take the time and note what to do (see tick).
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._full_started = time.perf_counter()
        elif (time.perf_counter() - self._full_started) * 1000 > REFREEZE_AFTER_MS and self._froze_store:
            self._refreeze_due = True

    def tick(self) -> None:
        """Called about once a second from the UI loop: refreeze or deep-clean when due."""
        if not self._installed or self._loading_since is not None or not self._froze_store:
            return
        now = self._clock()
        if self._refreeze_due and now - self._frozen_at < REFREEZE_INTERVAL:
            return  # keep it due
        if now - self._cleaned_at > DEEP_CLEAN_SECONDS or (self._refreeze_due and self._since_clean >= MAX_REFREEZES):
            gc.unfreeze()
            gc.collect()
            release_free_memory()
            gc.freeze()
            self._cleaned_at = self._frozen_at = now
            self._refreeze_due, self._since_clean = False, 0
            self.deep_cleans += 1
        elif self._refreeze_due:
            gc.collect(1)  # young garbage, cycles included, is not frozen with the survivors
            gc.freeze()
            self._frozen_at = now
            self._refreeze_due = False
            self._since_clean += 1
            self.refreezes += 1

    def check_timeout(self) -> None:
        if self._loading_since is not None and self._clock() - self._loading_since > LOAD_TIMEOUT:
            self.loaded()
