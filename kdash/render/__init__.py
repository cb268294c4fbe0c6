"""Presentation: core objects → tree nodes, pod rows and describe sections (only text.py uses rich)."""
