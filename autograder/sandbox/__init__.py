"""The sandbox: grading kernels with limits and Landlock, and nbgrader's Execute hardened.

Imports nothing of the course (settings come in as traitlets or command-line arguments);
``launcher.py``, ``confine.py``, ``landlock.py`` and ``zygote.py`` (kernels forked from a
process with the frameworks imported) use only the standard library.
"""
