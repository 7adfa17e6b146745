"""Grades out of the gradebook, in the shape an LMS imports.

Three formats, one function (:func:`export`, ``python -m autograder export --format ...``):

* ``canvas``: Canvas's gradebook CSV: ``Student, ID, SIS User ID, SIS Login ID, Section``,
  then one column per assignment that has at least one submission (its ``lms_column`` in
  ``course.toml``, e.g. ``"MNIST VAE (123456)"`` with Canvas's assignment id, else the
  assignment id, which Canvas imports as a new column; an assignment nobody handed in yet has
  no column, so Canvas creates none for it), a ``Points Possible`` row (0 for an
  ``extra_credit`` assignment: Canvas's way of extra credit), then one row per student.
  ``ID`` is the course site's student id (from the download's file name); ``Student`` is
  ``"Last, First"`` as Canvas writes it, from a roster (:func:`read_roster`: the gradebook CSV
  Canvas exports) or from the names in the gradebook;
* ``generic``: ``student_id, last_name, first_name``, one column per assignment with a
  submission, then ``total`` (every score, extra credit included), ``total_possible`` (the
  points of those assignments, extra credit left out) and ``percent`` (100 * total /
  total_possible);
* ``nbgrader``: nbgrader's own long CSV (one row per student and assignment).

The wide formats are an nbgrader export plugin too (:class:`CanvasExportPlugin`,
:class:`GenericExportPlugin`; in ``autograder/``, with the repository on the path:
``PYTHONPATH=.. nbgrader export --exporter=autograder.pipeline.export.CanvasExportPlugin``, which writes
``<course>/reports/grades-canvas.csv`` unless ``--to`` says otherwise).
Scores are nbgrader's (manual scores override autograded ones, extra credit added), less the
late penalty of ``course.toml``'s ``[late]`` policy (:mod:`autograder.pipeline.late`); every
late submission is listed in ``reports/late.csv`` whatever the policy. A student with no
submission gets an empty cell (the LMS's missing-work policy applies). While written
answers are still ungraded the export is refused (:class:`UngradedError`) unless forced;
forced, an ungraded answer counts as zero and the export says so.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Bool, Enum, Unicode

from ..course import LATE_POLICIES, Course, LatePolicy
from .late import Lateness, lateness, penalty, read_uploads

try:  # nbgrader's base class when nbgrader is importable (always, where grading happens)
    from nbgrader.plugins import ExportPlugin
except ImportError:  # pragma: no cover
    from traitlets.config import LoggingConfigurable as ExportPlugin  # type: ignore[assignment]

FORMATS = ("canvas", "generic", "nbgrader")
CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


class UngradedError(RuntimeError):
    """Written answers still wait for hand grading; the message says how many and where."""


@dataclass
class Cell:
    """One student's result on one assignment."""

    raw: float
    max_score: float
    late: Lateness
    penalty: float
    ungraded: int  # written answers not graded by hand yet

    @property
    def score(self) -> float:
        return max(self.raw - self.penalty, 0.0)


@dataclass
class Student:
    student_id: str
    last_name: str
    first_name: str
    cells: dict[str, Cell] = field(default_factory=dict)  # only submitted assignments
    #: from the roster: Canvas's "Last, First", SIS user id, SIS login id, section
    roster: RosterEntry | None = None

    @property
    def display_name(self) -> str:
        """``"Last, First"`` (Canvas's ``Student`` column), as far as it is known."""
        if self.roster is not None and self.roster.name:
            return self.roster.name
        return ", ".join(p for p in (self.last_name, self.first_name) if p) or self.student_id


@dataclass(frozen=True)
class RosterEntry:
    """One student of the LMS's roster (a row of the gradebook CSV Canvas exports)."""

    name: str  # "Last, First"
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""

    @property
    def last_first(self) -> tuple[str, str]:
        last, _, first = self.name.partition(",")
        return last.strip(), first.strip()


class RosterError(ValueError):
    """The roster file cannot be read (the message says why)."""


def read_roster(path: Path) -> dict[str, RosterEntry]:
    """``{student id: RosterEntry}`` from a roster CSV: the gradebook CSV Canvas exports
    (``Student, ID, SIS User ID, SIS Login ID, Section, ...``; its ``Points Possible`` row and
    the test student are skipped) or ``student_id, last_name, first_name``.

    Raises:
        RosterError: the file is missing or has neither set of columns.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise RosterError(f"No roster at {path}.") from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise RosterError(f"{path} is not a CSV file: {err}") from None
    header = set(rows[0]) if rows else set()
    roster: dict[str, RosterEntry] = {}
    if {"Student", "ID"} <= header:
        for row in rows:
            sid, name = (row.get("ID") or "").strip(), (row.get("Student") or "").strip()
            if not sid or name.endswith("Points Possible") or name == "Student, Test":
                continue
            roster[sid] = RosterEntry(name, (row.get("SIS User ID") or "").strip(),
                                      (row.get("SIS Login ID") or "").strip(), (row.get("Section") or "").strip())  # fmt: skip
    elif {"student_id", "last_name", "first_name"} <= header:
        for row in rows:
            if (sid := (row.get("student_id") or "").strip()):
                last, first = (row.get("last_name") or "").strip(), (row.get("first_name") or "").strip()
                roster[sid] = RosterEntry(", ".join(p for p in (last, first) if p))
    else:
        raise RosterError(f"{path}: a roster needs the columns Student, ID (Canvas's gradebook export) or "
                          f"student_id, last_name, first_name; found {', '.join(sorted(header)) or 'none'}")
    return roster


@dataclass
class Export:
    """What :func:`export` wrote and found."""

    path: Path
    late_report: Path | None
    students: list[Student]
    max_scores: dict[str, float]
    ungraded: dict[str, int]  # assignment -> written answers not graded yet
    forced: bool = False
    extra_credit: frozenset[str] = frozenset()
    left_out: list[str] = field(default_factory=list)  # assignments without any submission yet
    unnamed: int = 0  # students whose name came from the download only (no roster entry)

    @property
    def late(self) -> list[tuple[Student, str, Cell]]:
        return [(s, a, c) for s in self.students for a, c in s.cells.items() if c.late.late]


def _num(value: float) -> str:
    return f"{round(value, 2):g}"


def collect_grades(gb, course: Course, assignments: list[str] | None = None,  # noqa: ANN001 (nbgrader Gradebook)
                   policy: LatePolicy | None = None,
                   roster: dict[str, RosterEntry] | None = None) -> tuple[list[Student], dict[str, float]]:  # fmt: skip
    """Every student of the gradebook with their (late-penalized) score per assignment, and
    the points of each assignment that has at least one submission (course order)."""
    from nbgrader.api import MissingEntry

    policy = policy or course.config.late
    uploads = read_uploads(course)
    names = [a.name for a in gb.assignments if a.submissions]
    order = [a for a in course.assignments() if a in names] + sorted(a for a in names if a not in course.assignments())
    if assignments:
        order = [a for a in order if a in assignments]
    max_scores = {a: float(gb.find_assignment(a).max_score) for a in order}
    students = []
    for student in sorted(gb.students, key=lambda s: ((s.last_name or "").lower(), s.id)):
        row = Student(student.id, student.last_name or "", student.first_name or "",
                      roster=(roster or {}).get(student.id))  # fmt: skip
        if row.roster is not None:
            row.last_name, row.first_name = row.roster.last_first
        for a in order:
            try:
                sub = gb.find_submission(a, student.id)
            except MissingEntry:
                continue
            ungraded = sum(g.needs_manual_grade for nb in sub.notebooks for g in nb.grades)
            late = lateness(uploads.get(a, {}).get(student.id), course.config.due.get(a), policy)
            raw = float(sub.score)
            row.cells[a] = Cell(raw, max_scores[a], late, penalty(raw, max_scores[a], late, policy), ungraded)
        students.append(row)
    return students, max_scores


def _column(course: Course, assignment: str) -> str:
    return course.config.lms_columns.get(assignment) or assignment


def points_possible(course: Course, max_scores: dict[str, float]) -> dict[str, float]:
    """What each assignment counts towards the points possible: 0 for extra credit."""
    return {a: 0.0 if a in course.config.extra_credit else m for a, m in max_scores.items()}


def write_canvas(path: Path, course: Course, students: list[Student], max_scores: dict[str, float]) -> None:
    """Canvas's gradebook import CSV."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*CANVAS_FIXED, *(_column(course, a) for a in max_scores)])
        w.writerow(["    Points Possible", "", "", "", "", *(_num(m) for m in points_possible(course, max_scores).values())])
        for s in students:
            r = s.roster or RosterEntry("")
            w.writerow([s.display_name, s.student_id, r.sis_user_id, r.sis_login_id, r.section,
                        *(_num(s.cells[a].score) if a in s.cells else "" for a in max_scores)])  # fmt: skip


def totals(course: Course, student: Student, max_scores: dict[str, float]) -> tuple[float, float]:
    """``(total, total_possible)`` of one student: every score (missing work counts 0, extra
    credit included) over the points of the exported assignments without the extra credit."""
    total = sum(c.score for a, c in student.cells.items() if a in max_scores)
    return total, sum(points_possible(course, max_scores).values())


def write_generic(path: Path, course: Course, students: list[Student], max_scores: dict[str, float]) -> None:
    """One row per student, one column per assignment, the total, the points possible and the percentage."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "last_name", "first_name", *max_scores, "total", "total_possible", "percent"])
        for s in students:
            total, possible = totals(course, s, max_scores)
            w.writerow([s.student_id, s.last_name, s.first_name,
                        *(_num(s.cells[a].score) if a in s.cells else "" for a in max_scores),
                        _num(total), _num(possible), _num(100 * total / possible) if possible else ""])  # fmt: skip


def write_late_report(path: Path, students: list[Student], policy: LatePolicy) -> None:
    """Every late submission: why it is late, and what the policy deducted."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "last_name", "assignment", "days_late", "why", "policy",
                    "raw_score", "penalty", "score", "max_score"])  # fmt: skip
        for s in students:
            for a, c in s.cells.items():
                if c.late.late:
                    w.writerow([s.student_id, s.last_name, a, c.late.days, c.late.reason, policy.policy,
                                _num(c.raw), _num(c.penalty), _num(c.score), _num(c.max_score)])  # fmt: skip


def _ungraded_message(ungraded: dict[str, int]) -> str:
    parts = ", ".join(f"{a}: {n}" for a, n in ungraded.items() if n)
    return (f"written answers not graded by hand yet ({parts}); grade them in the formgrader "
            "(python -m autograder formgrader), then run feedback and export again")  # fmt: skip


def export_gradebook(gb, course: Course, fmt: str, target: Path, *,  # noqa: ANN001 (nbgrader Gradebook)
                     force: bool = False, policy: LatePolicy | None = None,
                     assignments: list[str] | None = None,
                     roster: dict[str, RosterEntry] | None = None) -> Export:  # fmt: skip
    """Write ``target`` in ``fmt`` (canvas|generic) from an open gradebook, and the late report.

    Raises:
        UngradedError: written answers are not graded yet and ``force`` is false.
    """
    policy = policy or course.config.late
    students, max_scores = collect_grades(gb, course, assignments, policy, roster)
    ungraded = {a: sum(s.cells[a].ungraded for s in students if a in s.cells) for a in max_scores}
    if any(ungraded.values()) and not force:
        raise UngradedError(f"Export refused: {_ungraded_message(ungraded)}. To export them as zero now: "
                            "python -m autograder export --force (nbgrader export: --LmsExportPlugin.force=True).")
    target.parent.mkdir(parents=True, exist_ok=True)
    (write_canvas if fmt == "canvas" else write_generic)(target, course, students, max_scores)
    late_report = target.parent / "late.csv"
    write_late_report(late_report, students, policy)
    wanted = assignments or [a.name for a in gb.assignments]
    return Export(target, late_report, students, max_scores, ungraded, forced=any(ungraded.values()),
                  extra_credit=course.config.extra_credit & set(max_scores),
                  left_out=[a for a in course.assignments() if a in wanted and a not in max_scores],
                  unnamed=sum(s.roster is None for s in students) if roster else 0)  # fmt: skip


class LmsExportPlugin(ExportPlugin):
    """nbgrader export plugin: one row per student, one column per assignment (canvas|generic).

    ``PYTHONPATH=.. nbgrader export --exporter=autograder.pipeline.export.LmsExportPlugin
    --LmsExportPlugin.format=generic --to grades.csv`` (in ``autograder/``; nbgrader imports the
    exporter before it reads ``nbgrader_config.py``, hence ``PYTHONPATH``).
    """

    format = Enum(["canvas", "generic"], default_value="canvas", help="canvas or generic").tag(config=True)
    late_policy = Enum(["", *LATE_POLICIES], default_value="",
                       help="override course.toml's [late] policy (none|per_day|zero)").tag(config=True)  # fmt: skip
    force = Bool(False, help="export although written answers are not graded yet (as zero)").tag(config=True)
    course_toml = Unicode("", help="course.toml to read (default: the repository's)").tag(config=True)
    roster = Unicode("", help="roster CSV (Canvas's gradebook export) for names and SIS ids").tag(config=True)

    #: set by :func:`export`; plain nbgrader uses :meth:`Course.default`
    course: Course | None = None
    result: Export | None = None

    def export(self, gradebook) -> None:  # noqa: ANN001 (nbgrader Gradebook)
        """Write the CSV (``--to``, default ``<course>/reports/grades-<format>.csv``, never the
        current folder: in ``autograder/`` it would be an untracked file) and ``late.csv`` beside it."""
        course = self.course or Course.default()
        policy = course.config.late
        if self.late_policy:
            policy = LatePolicy(self.late_policy, policy.percent_per_day, policy.max_percent, policy.grace_minutes)
        target = Path(self.to) if self.to else default_target(course, self.format)
        try:
            roster = read_roster(Path(self.roster)) if self.roster else None
            self.result = export_gradebook(gradebook, course, self.format, target, force=self.force, policy=policy,
                                           assignments=[str(a) for a in self.assignment] or None,
                                           roster=roster)  # fmt: skip
        except (UngradedError, RosterError) as err:
            self.log.error("%s", err)
            raise SystemExit(1) from None
        if self.result.forced:
            self.log.warning("Exported although %s", _ungraded_message(self.result.ungraded))
        self.log.info("Wrote %s and %s", target, self.result.late_report)


class CanvasExportPlugin(LmsExportPlugin):
    """``nbgrader export --exporter=autograder.pipeline.export.CanvasExportPlugin``."""

    format = Enum(["canvas"], default_value="canvas").tag(config=True)


class GenericExportPlugin(LmsExportPlugin):
    """``nbgrader export --exporter=autograder.pipeline.export.GenericExportPlugin``."""

    format = Enum(["generic"], default_value="generic").tag(config=True)


def default_target(course: Course, fmt: str) -> Path:
    """``reports/grades.csv`` (nbgrader) or ``reports/grades-<fmt>.csv``."""
    return course.reports / ("grades.csv" if fmt == "nbgrader" else f"grades-{fmt}.csv")


def export(course: Course, to: Path | None = None, fmt: str = "nbgrader", *, force: bool = False) -> Path:
    """Export the gradebook in ``fmt`` (see the module docstring); return the file written.

    Raises:
        UngradedError: a wide format while written answers are ungraded, without ``force``.
    """
    return export_result(course, to, fmt, force=force).path


def export_result(course: Course, to: Path | None = None, fmt: str = "nbgrader", *, force: bool = False,
                  roster: Path | None = None) -> Export:  # fmt: skip
    """:func:`export`, with what it found (late submissions, ungraded answers); ``roster``
    (:func:`read_roster`) names the students and fills Canvas's SIS columns.

    Raises:
        UngradedError: as :func:`export`.
        RosterError: the roster cannot be read.
    """
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    if not course.has_gradebook:
        raise UngradedError(f"No gradebook at {course.db_path}: collect and autograde first.")
    names = read_roster(Path(roster)) if roster else None
    target = Path(to) if to else default_target(course, fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(course.db_url, course.course_id) as gb:
        if fmt == "nbgrader":
            plugin = CsvExportPlugin()
            plugin.to = str(target)
            plugin.export(gb)
            students, max_scores = collect_grades(gb, course)
            ungraded = {a: sum(s.cells[a].ungraded for s in students if a in s.cells) for a in max_scores}
            return Export(target, None, students, max_scores, ungraded, forced=any(ungraded.values()))
        return export_gradebook(gb, course, fmt, target, force=force, roster=names)


def format_export(result: Export) -> str:
    """What the instructor reads after an export: the file, late submissions, warnings."""
    lines = [f"wrote {result.path} ({len(result.students)} students, "
             f"{len(result.max_scores)} assignments)"]  # fmt: skip
    late = result.late
    if late:
        lines.append(f"{len(late)} late submissions (details in {result.late_report}):")
        for s, a, c in late:
            lines.append(f"  {s.student_id} {a}: {c.late.days} day(s), {c.late.reason}; "
                         f"penalty {_num(c.penalty)} of {_num(c.raw)}")  # fmt: skip
    if result.extra_credit:
        lines.append(f"extra credit (0 points possible, not in the total's denominator): "
                     f"{', '.join(sorted(result.extra_credit))}")  # fmt: skip
    if result.left_out:
        lines.append(f"no column for {', '.join(result.left_out)}: nothing handed in yet")
    if result.unnamed:
        lines.append(f"{result.unnamed} students are not in the roster: their name is the one in the download's file name")
    if result.forced:
        lines.append(f"WARNING: {_ungraded_message(result.ungraded)}; they count as zero in this file.")
    return "\n".join(lines)
