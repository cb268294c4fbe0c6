"""Keep Python's cyclic garbage collector out of the way while a store loads, then off the store.

A full (generation 2) collection walks every tracked container in the process. While the first
lists of 10k pods came in, CPython ran about ten of them, each walking everything parsed so far:
2.4 s of a 6.3 s start on the 2-core bench machine (docs/performance.md). Everything those
collections walk is alive (the objects are being stored), so:

- while a store loads (after connecting, or switching namespace or context), collections are
  off (at most LOAD_TIMEOUT seconds);
- once every kind has listed, everything alive is moved to the permanent generation
  (`gc.freeze()`), so later full collections skip the loaded store: the watched objects are
  plain JSON trees (no reference cycles; reference counting frees them when replaced).

Only this one moment is frozen. Freezing after every full collection made them cheap under
churn too, but it also froze Textual's short-lived cyclic structures (tree line lists, strips
and their caches, re-composed footer widgets) that were alive at that instant: those were never
collected once dropped, 42k objects in 20 s of churn at 2k pods (measured with the bench).
The one-time freeze leaks what was alive and cyclic at that instant only. On a reload, the
previous freeze is undone and a full collection runs before the next one, so an old store
caught in a cycle is freed.
"""

from __future__ import annotations

import gc
import time

LOAD_TIMEOUT = 60.0  # collections come back on after this long, even if a list never ends


class HeapFreezer:
    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._installed = False
        self._loading_since: float | None = None
        self._froze_store = False  # a freeze of ours may hold a store (start-up freezes do not)
        self._collect_first = False
        self.freezes = 0

    def install(self) -> None:
        self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            self._installed = False
            if self._froze_store:
                gc.unfreeze()
                self._froze_store = False
            if self._loading_since is not None:
                self._loading_since = None
                gc.enable()

    @property
    def loading_store(self) -> bool:
        return self._loading_since is not None

    def loading(self) -> None:
        """A store (re)load starts: no collections until it is in (all they would find is it)."""
        if not self._installed:
            return
        if self._froze_store:
            gc.unfreeze()  # the previous store may now sit in garbage cycles: collect before freezing
            self._froze_store = False
            self._collect_first = True
        if self._loading_since is None:
            gc.disable()
        self._loading_since = self._clock()

    def loaded(self) -> None:
        """The store holds a full sync: freeze it and turn collections back on."""
        if self._loading_since is None:
            return
        self._loading_since = None
        if self._collect_first:
            self._collect_first = False
            gc.collect()
        gc.freeze()
        gc.enable()
        self._froze_store = True
        self.freezes += 1

    def check_timeout(self) -> None:
        if self._loading_since is not None and self._clock() - self._loading_since > LOAD_TIMEOUT:
            self.loaded()
