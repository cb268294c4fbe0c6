"""Bundled themes (YAML data files); installed as the kdash.themes package."""
