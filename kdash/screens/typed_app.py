"""Screens see the concrete KdashApp type, so renaming an app attribute fails in mypy, not at runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from kdash.app import KdashApp

ResultType = TypeVar("ResultType")

if TYPE_CHECKING:
    class KdashScreen(Screen[ResultType]):
        app: KdashApp

    class KdashModalScreen(ModalScreen[ResultType]):
        app: KdashApp

    class AppScreen(KdashScreen[None]):
        """For mixins of a screen: what they may use of it, and the app it runs in."""
else:
    # At runtime these are textual's own classes (and a mixin adds no base): only mypy sees the narrower app.
    KdashScreen, KdashModalScreen, AppScreen = Screen, ModalScreen, object
