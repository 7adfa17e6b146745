"""Notebook basics: nbgrader cell metadata and markers, the assignment spec (no course, no kernels)."""
