"""The Textual work-arounds: a StylesCache is freed with its widget, and the colours are the same."""

from __future__ import annotations

import gc
import weakref

from textual._styles_cache import StylesCache
from textual.color import Color

from kdash.widgets import textual_fixes


def test_a_styles_cache_is_not_kept_alive_by_the_colour_cache():
    textual_fixes.apply()
    textual_fixes.apply()  # twice is once
    base, background = Color(20, 23, 28), Color(37, 43, 52, 0.5)
    caches = [StylesCache() for _ in range(3)]
    results = [c.get_inner_outer(base, background) for c in caches]
    assert results[0] == results[1] == results[2]
    inner, outer = results[0]
    assert (inner, outer) == (type(inner)(background=base + background), type(outer)(background=base))
    refs = [weakref.ref(c) for c in caches]
    del caches, results
    gc.collect()
    assert [r() for r in refs] == [None, None, None]
