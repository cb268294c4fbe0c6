"""kubectl semantics over raw API dicts: pure, no network, no textual; every other layer builds on it."""
