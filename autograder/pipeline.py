"""The instructor's steps after collecting: autograde, feedback, export, a score table."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .course import Course
from .grading import GradeResult, autograde, prepare_gradebook, scores, write_results

LOG = logging.getLogger("autograder")


def submitted_pairs(course: Course, assignments: list[str]) -> list[tuple[str, str]]:
    """(assignment, student) for every collected submission."""
    pairs = []
    for assignment in assignments:
        for path in sorted(course.submitted.glob(f"*/{assignment}/{assignment}.ipynb")):
            pairs.append((assignment, path.parent.parent.name))
    return pairs


def run_autograde(course: Course, assignments: list[str], jobs: int = 2) -> list[GradeResult]:
    """Autograde every collected submission of ``assignments`` with ``jobs`` workers."""
    pairs = submitted_pairs(course, assignments)
    if not pairs:
        LOG.warning("nothing to autograde under %s", course.submitted)
        return []
    # big notebooks first, so that the workers finish together
    pairs.sort(key=lambda p: -_cost(course, p))
    results = autograde(course, pairs, jobs=jobs)
    write_results(course.reports / "autograde.json", results)
    return results


def _cost(course: Course, pair: tuple[str, str]) -> int:
    path = course.submitted / pair[1] / pair[0] / f"{pair[0]}.ipynb"
    return path.stat().st_size if path.is_file() else 0


def feedback(course: Course, assignments: list[str]) -> list[Path]:
    """``nbgrader generate_feedback`` (hidden tests stripped); return the HTML files."""
    from .grading import _api

    api = _api(course)
    for assignment in assignments:
        if not any(course.autograded.glob(f"*/{assignment}")):
            continue
        result = api.generate_feedback(assignment)
        if not result.get("success"):
            LOG.error("generate_feedback %s failed: %s", assignment, (result.get("error") or "")[-500:])
    return sorted(course.feedback.glob("*/*/*.html"))


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


def score_table(course: Course, assignments: list[str]) -> dict[str, dict[str, tuple[float, float]]]:
    """``{student: {assignment: (autograded score, autograded max)}}``."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for assignment in assignments:
        for student, cells in scores(course, assignment).items():
            auto = [c for c in cells.values() if not c.manual]
            table.setdefault(student, {})[assignment] = (
                sum(c.auto_score or 0.0 for c in auto),
                sum(c.max_score for c in auto),
            )
    return table


def format_table(
    table: dict[str, dict[str, tuple[float, float]]],
    assignments: list[str],
    labels: dict[str, str] | None = None,
    expected: dict[tuple[str, str], float] | None = None,
) -> str:
    """Scores per student and notebook; with ``expected``, mismatches are marked ``!``."""
    labels = labels or {}
    width = max([len(a) for a in assignments] + [9])
    name_w = max([len(f"{labels.get(s, s)}") for s in table] + [8]) + 2
    head = f"{'student':{name_w}s}" + "".join(f"{a:>{width + 2}s}" for a in assignments)
    lines = [head, "-" * len(head)]
    for student in sorted(table, key=lambda s: labels.get(s, s)):
        row = f"{labels.get(student, student):{name_w}s}"
        for a in assignments:
            if a not in table[student]:
                cell = "-"
            else:
                got, top = table[student][a]
                cell = f"{got:g}/{top:g}"
                if expected is not None and (student, a) in expected and abs(expected[(student, a)] - got) > 1e-9:
                    cell += f"!{expected[(student, a)]:g}"
            row += f"{cell:>{width + 2}s}"
        lines.append(row)
    return "\n".join(lines)


def grading_report(course: Course, results: list[GradeResult]) -> str:
    """Notebooks that needed restarts, timed out, hid errors or could not be graded."""
    lines = []
    for r in sorted(results, key=lambda r: (r.student, r.assignment)):
        kinds = sorted({e["kind"] for e in r.events if not e["kind"].startswith("status-")})
        if r.error or kinds:
            what = ", ".join(kinds) if kinds else ""
            if r.error:
                what += f" grading failed: {r.error.strip().splitlines()[-1][:160]}"
            lines.append(f"  {r.student}/{r.assignment}: {what.strip()}")
    (course.reports / "events.json").write_text(
        json.dumps({f"{r.student}/{r.assignment}": r.events for r in results}, indent=1)
    )
    return "\n".join(lines)


def ensure_gradebook(course: Course, assignments: list[str]) -> None:
    """Build the gradebook and the scratch release (cheap; safe to repeat)."""
    prepare_gradebook(course, assignments)
