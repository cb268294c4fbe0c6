"""kdash: keyboard-driven terminal dashboard for Kubernetes rollouts."""

__version__ = "0.1.0"
