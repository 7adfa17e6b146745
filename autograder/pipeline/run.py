"""The instructor's pipeline: collect -> autograde -> feedback -> export, written once.

Each step is also its own command (``python -m autograder collect|autograde|feedback|export``);
:func:`grade_class` runs them in order for ``python -m autograder all`` and for the demo.
Issue 13 changes the order for hand grading (collect -> autograde -> grade by hand ->
feedback -> export): :func:`grade_class` is where that order is decided.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..course import Course
from .collect import CollectReport, collect
from .export import export
from .grade import GradeResult, autograde, grading_api, prepare_gradebook
from .report import write_results

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
    """
    pairs = submitted_pairs(course, assignments) if pairs is None else list(pairs)
    if not pairs:
        LOG.warning("nothing to autograde under %s", course.submitted)
        return []
    pairs.sort(key=lambda p: -_cost(course, p))
    results = autograde(course, pairs, jobs=jobs)
    write_results(course, results)
    return results


def _cost(course: Course, pair: tuple[str, str]) -> int:
    path = course.submitted / pair[1] / pair[0] / f"{pair[0]}.ipynb"
    return path.stat().st_size if path.is_file() else 0


def feedback(course: Course, assignments: list[str]) -> list[Path]:
    """``nbgrader generate_feedback`` (hidden tests stripped); return the HTML files."""
    api = grading_api(course)
    for assignment in assignments:
        if not any(course.autograded.glob(f"*/{assignment}")):
            continue
        result = api.generate_feedback(assignment)
        if not result.get("success"):
            LOG.error("generate_feedback %s failed: %s", assignment, (result.get("error") or "")[-500:])
    return sorted(course.feedback.glob("*/*/*.html"))


@dataclass
class ClassRun:
    """What :func:`grade_class` did."""

    collect: CollectReport
    results: list[GradeResult]
    grades: Path  # the exported CSV
    feedback: list[Path]


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
) -> ClassRun:
    """Collect the downloads in ``source``, autograde them, write feedback, export grades.

    ``only`` sends every file to that assignment (``collect --assignment``); ``to`` is the
    CSV (default ``reports/grades.csv``); ``prepared`` skips building the gradebook when
    the caller just did; ``on_collected`` sees the collect report before grading starts.
    """
    if not prepared:
        prepare_gradebook(course, assignments)
    report = collect(course, source, assignments, only=only)
    if on_collected is not None:
        on_collected(report)
    results = run_autograde(course, assignments, jobs=jobs)
    files = feedback(course, assignments)
    grades = export(course, to)
    return ClassRun(report, results, grades, files)
