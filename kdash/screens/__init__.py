"""kdash screens."""
