"""Cells meant for graders only, and the feedback preprocessor that removes them.

:mod:`autograder.pipeline.handgrade` puts a "for graders" cell before each written answer of
an autograded notebook (the student's own outputs, the model answer, the rubric); those cells
carry ``metadata.vaecourse.grader_only`` and never reach a student: :class:`RemoveGraderOnly`
is the first feedback preprocessor (``pipeline/settings.py``), for our commands, plain
``nbgrader generate_feedback`` and the formgrader's feedback button alike. Their companion
files (the student's run as HTML, the grader's guide) match :data:`GRADER_FILES`, which
nbgrader does not copy into feedback.
"""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool

from ..sandbox.execute import SIDECAR_SUFFIX

#: file names (nbgrader ``CourseDirectory.ignore`` patterns) that stay out of feedback
OWN_RUN_SUFFIX = ".own-run.html"
GUIDE_SUFFIX = ".graders-guide.html"
#: the grader's files next to an autograded notebook, kept out of feedback: the student's own run,
#: the graders' guide, the grading report (cell timings, restarts, diagnoses: the grader's record)
GRADER_FILES = ("*" + OWN_RUN_SUFFIX, "*" + GUIDE_SUFFIX, "*" + SIDECAR_SUFFIX)


def is_grader_only(cell: NotebookNode) -> bool:
    """A cell :mod:`autograder.pipeline.handgrade` added for graders."""
    meta = cell.get("metadata", {}).get("vaecourse", {})
    return isinstance(meta, dict) and bool(meta.get("grader_only"))


def mark_grader_only(cell: NotebookNode) -> NotebookNode:
    """Mark ``cell`` as for graders only; return it."""
    cell.setdefault("metadata", {}).setdefault("vaecourse", {})["grader_only"] = True
    return cell


class RemoveGraderOnly(Preprocessor):
    """Drop every grader-only cell (feedback must never show rubrics or model answers), and
    show the Colab badge as text: feedback loads nothing from the network for it."""

    # nbconvert runs a preprocessor only when enabled (nbgrader registers classes as they are)
    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        from .setup_cell import offline_notebook

        nb.cells = [c for c in nb.cells if not is_grader_only(c)]
        return offline_notebook(nb), resources
