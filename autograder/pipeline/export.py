"""Grades out of the gradebook: nbgrader's CSV export.

Issue 13's exporters (an nbgrader export plugin writing one column per assignment in an
LMS's gradebook format, with late penalties) belong here, next to :func:`export`.
"""

from __future__ import annotations

from pathlib import Path

from ..course import Course


def export(course: Course, to: Path | None = None) -> Path:
    """nbgrader's CSV export of the gradebook (``reports/grades.csv`` by default)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    target = Path(to) if to else course.reports / "grades.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin()
    plugin.to = str(target)
    with Gradebook(course.db_url, course.course_id) as gb:
        plugin.export(gb)
    return target
