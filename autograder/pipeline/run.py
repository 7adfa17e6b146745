"""The instructor's pipeline: collect -> autograde -> feedback -> export, written once.

Each step is also its own command (``python -m autograder collect|autograde|feedback|export``);
:func:`grade_class` runs them in order for ``python -m autograder all`` and for the demo.
Written answers are graded by hand between autograde and feedback (collect -> autograde ->
grade by hand -> feedback -> export): while any is ungraded, :func:`grade_class` stops after
autograde (``force`` goes on, and says so), and autograde prepares every graded notebook
for the formgrader (:func:`autograder.pipeline.handgrade.annotate`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course
from .collect import CollectReport, collect
from .export import export
from .grade import (
    GradeResult,
    autograde,
    grading_api,
    prepare_gradebook,
    raise_if_database_down,
    require_gradebook,
)
from .handgrade import annotate, ungraded, write_guide, written_cells
from .report import write_results
from .scan import read_flags

LOG = logging.getLogger("autograder")


def submitted_pairs(course: Course, assignments: list[str]) -> list[tuple[str, str]]:
    """(assignment, student) for every collected submission."""
    pairs = []
    for assignment in assignments:
        for path in sorted(course.submitted.glob(f"*/{assignment}/{assignment}.ipynb")):
            pairs.append((assignment, path.parent.parent.name))
    return pairs


def run_autograde(
    course: Course, assignments: list[str], jobs: int = 2, pairs: list[tuple[str, str]] | None = None
) -> list[GradeResult]:
    """Autograde every collected submission of ``assignments`` (or just ``pairs``, e.g. a
    shard's, :mod:`autograder.pipeline.shard`) with ``jobs`` workers.

    Big notebooks go first, so that the workers finish together; the results are saved in
    ``reports/`` (:func:`autograder.pipeline.report.write_results`).

    Raises:
        GradebookUnavailable: the gradebook's database server is unreachable, before grading
            (nothing written) or during it (the report says which notebooks were graded).
    """
    require_gradebook(course)
    pairs = submitted_pairs(course, assignments) if pairs is None else list(pairs)
    if not pairs:
        LOG.warning("nothing to autograde under %s", course.submitted)
        return []
    pairs.sort(key=lambda p: -_cost(course, p))
    results = autograde(course, pairs, jobs=jobs)
    write_results(course, results)
    raise_if_database_down(course, pairs, results)
    prepare_for_hand_grading(course, pairs)
    return results


def prepare_for_hand_grading(course: Course, pairs: list[tuple[str, str]]) -> None:
    """Put the student's own outputs and the rubrics into each autograded notebook with written
    answers, and the collect scan's flags into each flagged one (see
    :mod:`autograder.pipeline.handgrade`; the whole run as HTML is rendered when the
    formgrader starts); mark the flagged ones in the gradebook (the formgrader's "Flagged?"
    column). A failure is logged, never stops grading."""
    cells: dict[str, list] = {}
    flags = read_flags(course)
    for assignment, student in pairs:
        try:
            if assignment not in cells:
                cells[assignment] = written_cells(course, assignment)
                if cells[assignment]:
                    write_guide(course, assignment)  # from today's solutions/
            found = flags.get(assignment, {}).get(student, [])
            if cells[assignment] or found:
                annotate(course, assignment, student, cells[assignment], render=False, flags=found)
        except Exception as e:  # noqa: BLE001 (graders' extras must never cost a grade)
            LOG.error("%s/%s: could not prepare the graders' view: %s", student, assignment, e)
    mark_flagged(course, [(a, s) for a, s in pairs if flags.get(a, {}).get(s)])


def mark_flagged(course: Course, pairs: list[tuple[str, str]]) -> None:
    """Set nbgrader's ``flagged`` on the submitted notebook of each pair (autograde resets it:
    hence after every autograde); a pair without a graded notebook is skipped."""
    from nbgrader.api import Gradebook, MissingEntry

    if not pairs:
        return
    try:
        with Gradebook(course.db_url, course.course_id) as gb:
            for assignment, student in pairs:
                try:
                    gb.find_submission_notebook(assignment, assignment, student).flagged = True
                except MissingEntry:
                    continue
            gb.db.commit()
    except Exception as e:  # noqa: BLE001 (a flag must never cost a grade)
        LOG.error("could not mark %d flagged submissions in the gradebook: %s", len(pairs), e)


def _cost(course: Course, pair: tuple[str, str]) -> int:
    path = course.submitted / pair[1] / pair[0] / f"{pair[0]}.ipynb"
    return path.stat().st_size if path.is_file() else 0


def feedback(course: Course, assignments: list[str], students: set[str] | None = None) -> list[Path]:
    """``nbgrader generate_feedback`` (hidden tests stripped); return the HTML files.

    With ``students``, only theirs (one ``generate_feedback`` per student and assignment: a
    shard's share, :func:`autograder.pipeline.shard.feedback_shard`), and only their files
    are returned."""
    api = grading_api(course)
    for assignment in assignments:
        if not any(course.autograded.glob(f"*/{assignment}")):
            continue
        if students is None:
            runs = [api.generate_feedback(assignment)]
        else:
            runs = [api.generate_feedback(assignment, s) for s in sorted(students)
                    if (course.autograded / s / assignment).is_dir()]  # fmt: skip
        for result in runs:
            if not result.get("success"):
                LOG.error("generate_feedback %s failed: %s", assignment, (result.get("error") or "")[-500:])
    files = sorted(course.feedback.glob("*/*/*.html"))
    return files if students is None else [f for f in files if f.parent.parent.name in students]


@dataclass
class ClassRun:
    """What :func:`grade_class` did."""

    collect: CollectReport
    results: list[GradeResult]
    grades: Path | None  # the exported CSV (None: stopped for hand grading)
    feedback: list[Path]
    ungraded: dict[str, int] = field(default_factory=dict)  # written answers left per assignment


def grade_class(
    course: Course,
    source: Path,
    assignments: list[str],
    *,
    jobs: int = 2,
    only: str | None = None,
    to: Path | None = None,
    prepared: bool = False,
    on_collected: Callable[[CollectReport], None] | None = None,
    force: bool = False,
) -> ClassRun:
    """Collect the downloads in ``source``, autograde them; then, once no written answer
    waits for hand grading (or with ``force``), write feedback and export grades.

    ``only`` sends every file to that assignment (``collect --assignment``); ``to`` is the
    CSV (default ``reports/grades.csv``); ``prepared`` skips building the gradebook when
    the caller just did; ``on_collected`` sees the collect report before grading starts;
    ``force`` writes feedback and grades although written answers are ungraded (as zero).
    """
    if not prepared:
        prepare_gradebook(course, assignments)
    report = collect(course, source, assignments, only=only)
    if on_collected is not None:
        on_collected(report)
    results = run_autograde(course, assignments, jobs=jobs)
    waiting = ungraded(course, assignments)
    if waiting and not force:
        return ClassRun(report, results, None, [], waiting)
    files = feedback(course, assignments)
    grades = export(course, to)
    return ClassRun(report, results, grades, files, waiting)
