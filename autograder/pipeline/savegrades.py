"""nbgrader's ``SaveAutoGrades`` with one commit per notebook: a notebook's grades are recorded whole or not at all.

nbgrader commits after each grade cell's score and each comment. A grading process that dies
while it saves (a killed shard, a lost node) or a database server that goes away meanwhile
would leave a submission with some cells scored and the rest empty: half a grade, which an
export would count. :class:`AtomicSaveAutoGrades` writes the same scores and comments (the
same rules, :func:`nbgrader.utils.determine_grade`, manual scores kept) in one transaction,
committed after the last cell; on any error it rolls back. ``pipeline/settings.py`` puts it in
place of nbgrader's in the autograde preprocessors (plain ``nbgrader autograde`` too).
"""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades


class AtomicSaveAutoGrades(SaveAutoGrades):
    """``SaveAutoGrades`` that commits once, after every cell of the notebook."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        """Score every cell of ``nb`` in one transaction (rolled back on any error)."""
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            try:
                nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)
                self.gradebook.db.commit()
            except BaseException:
                self.gradebook.db.rollback()
                raise
        return nb, resources

    def _add_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        # nbgrader's rule, without its commit: the autograded score; a cell with a manual
        # score, or without an automatic one, needs a grader's look
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)  # fmt: skip
        grade.auto_score, _ = utils.determine_grade(cell, self.log)
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None

    def _add_comment(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        comment = self.gradebook.find_comment(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                              self.assignment_id, self.student_id)  # fmt: skip
        unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
        comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) else None
