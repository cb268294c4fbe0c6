"""Work-arounds for Textual bugs that cost a long session memory; `apply()` once, before the app runs."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from textual._styles_cache import StylesCache


def apply() -> None:
    """`StylesCache.get_inner_outer` is an `lru_cache(1024)` on an instance method, so the cache
    keeps up to 1024 widgets' StylesCaches alive after their widgets are gone, with every line
    they had rendered (Textual issue #6665): in the soak, ~140 per log follow and switch cycle,
    each a few hundred strips and their caches. The colours alone are the key here."""
    method = StylesCache.__dict__.get("get_inner_outer")
    original = getattr(method, "__wrapped__", None)
    if original is None or getattr(method, "_kdash_fixed", False):
        return  # not the cached method of the Textual this was written for, or done already

    @lru_cache(1024)
    def inner_outer(base_background: Any, background: Any) -> Any:
        return original(StylesCache, base_background, background)  # its first parameter is unused

    def get_inner_outer(self: StylesCache, base_background: Any, background: Any) -> Any:
        return inner_outer(base_background, background)

    get_inner_outer._kdash_fixed = True  # type: ignore[attr-defined]
    StylesCache.get_inner_outer = get_inner_outer  # type: ignore[method-assign,assignment]
