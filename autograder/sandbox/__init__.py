"""The sandbox: grading kernels with limits and Landlock, and nbgrader's Execute hardened.

Imports nothing of the course (settings come in as traitlets or command-line arguments);
``launcher.py`` and ``landlock.py`` use only the standard library.
"""
