"""kdash widgets."""
