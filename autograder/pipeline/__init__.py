"""The class pipeline: release, collect (with repair and scan), autograde, report, export.

Built on nbgrader's own commands; kernels run in :mod:`autograder.sandbox`. The order of
the steps is written once, in :func:`autograder.pipeline.run.grade_class`.
"""
