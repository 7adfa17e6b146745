"""What the instructor reads: the collect report, grading events, the score table.

Every printout of the pipeline is formatted here (the CLI and the demo print these
strings), and the JSON reports under ``<work>/reports/`` are written here.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from ..course import Course
from .collect import CollectReport
from .grade import GradeResult, scores

Table = dict[str, dict[str, tuple[float, float]]]


def format_collect(report: CollectReport, labels: dict[str, str] | None = None) -> str:
    """Per assignment: submissions, repairs and rejections with their reasons, flags, and
    the files skipped. ``labels`` names students (default: their ids)."""
    labels = labels or {}
    lines = []
    for assignment, reports in report.repairs.items():
        counts = {k: sum(r.status == k for r in reports.values()) for k in ("ok", "repaired", "rejected")}
        lines.append(f"{assignment}: {len(reports)} submissions ({counts['repaired']} repaired, "
                     f"{counts['rejected']} rejected)")  # fmt: skip
        for student, rep in sorted(reports.items()):
            if rep.status != "ok":
                lines.append(f"  {labels.get(student, student)}: {rep.line()}")
        for student, flags in sorted(report.flags.get(assignment, {}).items()):
            if flags:
                lines.append(f"  {labels.get(student, student)}: FLAGGED " + "; ".join(flags))
    lines += [f"skipped {line}" for line in report.skipped]
    return "\n".join(lines)


def format_events(results: list[GradeResult], labels: dict[str, str] | None = None) -> str:
    """Notebooks that needed restarts, timed out, hid errors or could not be graded."""
    labels = labels or {}
    lines = []
    for r in sorted(results, key=lambda r: (r.student, r.assignment)):
        kinds = sorted({e["kind"] for e in r.events if not e["kind"].startswith("status-")})
        if r.error or kinds:
            what = ", ".join(kinds) if kinds else ""
            if r.error:
                what += f" grading failed: {r.error.strip().splitlines()[-1][:160]}"
            lines.append(f"  {labels.get(r.student, r.student)}/{r.assignment}: {what.strip()}")
    return "\n".join(lines)


def write_results(course: Course, results: list[GradeResult]) -> None:
    """Save ``reports/autograde.json`` (timings, errors, events per notebook) and
    ``reports/events.json`` (the events alone)."""
    course.reports.mkdir(parents=True, exist_ok=True)
    (course.reports / "autograde.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    (course.reports / "events.json").write_text(
        json.dumps({f"{r.student}/{r.assignment}": r.events for r in results}, indent=1)
    )


def score_table(course: Course, assignments: list[str]) -> Table:
    """``{student: {assignment: (autograded score, autograded max)}}``."""
    table: Table = {}
    for assignment in assignments:
        for student, cells in scores(course, assignment).items():
            auto = [c for c in cells.values() if not c.manual]
            table.setdefault(student, {})[assignment] = (
                sum(c.auto_score or 0.0 for c in auto),
                sum(c.max_score for c in auto),
            )
    return table


def format_table(
    table: Table,
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
