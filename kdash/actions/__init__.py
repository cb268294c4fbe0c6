"""UI-free actions over the Kubernetes API, and the one registry that keys, palette and help use."""

from kdash.actions.registry import ACTIONS, Action

__all__ = ["ACTIONS", "Action"]
