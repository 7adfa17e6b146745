"""The end-to-end demo: sample submissions as course-site downloads, graded like a class.

:func:`run_demo` turns the sample submissions into a zip of course-site downloads
(``<Lastname>_<id>_<attempt>_<file>.ipynb``; one student has an older attempt that must be
ignored, one uploaded ``Copy of <assignment> (1).ipynb``), then runs the instructor's
pipeline on it exactly as for a class: ``collect`` (nbgrader zip_collect + repair),
``autograde`` (parallel workers, sandboxed kernels), ``feedback``, ``export``. It prints the
table of autograded scores per student and notebook and compares every grade cell with
what that submission must get. Students:

* ``Reference``/``Blank``: the reference solution / the untouched release, every notebook;
* ``Pack<n>``: the assignments' mistakes and alternatives (compatible ones share a
  notebook, see :func:`autograder.sampling.pack_samples`; ``pack=False``: one student each);
* one student per damaged or adversarial case (:mod:`autograder.cases`), on one assignment.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .cases import build_cases
from .collect import CollectReport, collect
from .course import Course
from .grading import GradeResult, prepare_gradebook, scores
from .pipeline import export, feedback, format_table, grading_report, run_autograde, score_table
from .sampling import (
    AssignmentSpec,
    SampleCase,
    load_samples,
    packed_cases,
    release_of,
    sample_cases,
)
from .verify import CaseOutcome, fresh_course

#: damaged/adversarial cases run on this assignment when present (cheapest first)
TARGET_ORDER = ("kl_theory", "mnist_vae", "mmd_vae", "cifar10_vae", "celeba_vae")


@dataclass
class DemoStudent:
    student_id: str
    label: str
    cases: list[SampleCase] = field(default_factory=list)


@dataclass
class DemoResult:
    students: list[DemoStudent]
    outcomes: list[CaseOutcome]
    collect: CollectReport
    results: list[GradeResult]
    table: str
    work: Course

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_")) or "Student"


def plan(course: Course, assignments: list[str], target: str | None, pack: bool, toy: bool) -> list[DemoStudent]:
    """Who submits what (the gradebook and scratch releases must exist)."""
    students: dict[str, DemoStudent] = {}
    counter = iter(range(10001, 99999))

    def student(label: str) -> DemoStudent:
        if label not in students:
            students[label] = DemoStudent(str(next(counter)), label)
        return students[label]

    releases = {a: release_of(course, a) for a in assignments}
    for assignment in assignments:
        build = packed_cases if pack else sample_cases
        for case in build(course, assignment, releases[assignment]):
            student(_camel(case.student)).cases.append(case)
    target = target or next((a for a in TARGET_ORDER if a in assignments), assignments[0])
    spec = AssignmentSpec.read(course, target)
    others = {
        a: c.notebook for a in assignments if a != target
        for c in sample_cases(course, a, releases[a])[:1]  # that assignment's reference
    }  # fmt: skip
    paths = {"repo": str(course.root), "db": str(course.db_path), "submitted": str(course.submitted),
             "source": str(course.source / "{assignment}" / "{assignment}.ipynb")}  # fmt: skip
    for case in build_cases(releases[target], spec, load_samples(course, target), others, paths, toy=toy):
        student(_camel(case.student)).cases.append(case)
    return list(students.values())


def write_downloads(students: list[DemoStudent], releases: dict, target: Path) -> Path:
    """A zip of course-site downloads for the planned students."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as z:
        for s in students:
            for case in s.cases:
                upload = f"{case.assignment}.ipynb"
                if s.label == "Pack1":
                    upload = f"Copy of {case.assignment} (1).ipynb"
                data = case.notebook if isinstance(case.notebook, bytes) else nbformat.writes(case.notebook).encode()
                z.writestr(f"{s.label}_{s.student_id}_2_{upload}", data)
                if s.label == "Reference":  # an older, empty attempt that must be ignored
                    z.writestr(f"{s.label}_{s.student_id}_1_{upload}", nbformat.writes(releases[case.assignment]))
    return target


def run_demo(
    course: Course,
    assignments: list[str],
    jobs: int = 2,
    target: str | None = None,
    pack: bool = True,
    toy: bool = False,
    name: str = "demo",
) -> DemoResult:
    """Plan, write the downloads, collect, autograde, feedback, export, compare."""
    work = fresh_course(course, name)
    prepare_gradebook(work, assignments)
    students = plan(work, assignments, target, pack, toy)
    releases = {a: release_of(work, a) for a in assignments}
    downloads = write_downloads(students, releases, work.work / "downloads.zip")
    report = collect(work, downloads, assignments)
    results = run_autograde(work, assignments, jobs=jobs)
    feedback(work, assignments)
    export(work)
    by_key = {(r.assignment, r.student): r for r in results}
    outcomes = []
    table_scores = {a: scores(work, a) for a in assignments}
    expected_totals: dict[tuple[str, str], float] = {}
    for s in students:
        for case in s.cases:
            cells = table_scores[case.assignment].get(s.student_id, {})
            actual = {gid: cells[gid].auto_score if gid in cells else None for gid in case.expected}
            outcomes.append(CaseOutcome(case, actual, by_key.get((case.assignment, s.student_id))))
            expected_totals[(s.student_id, case.assignment)] = sum(case.expected.values())
    labels = {s.student_id: f"{s.label} ({s.student_id})" for s in students}
    table = format_table(score_table(work, assignments), assignments, labels, expected_totals)
    result = DemoResult(students, outcomes, report, results, table, work)
    return result


def format_demo(result: DemoResult) -> str:
    """The demo's printout: the score table, repairs, flags, grading events, verdict."""
    ids = {s.student_id: s.label for s in result.students}
    lines = ["Autograded scores (score/max; '!x' marks a score that should have been x):", result.table, ""]
    lines.append("Repairs:")
    for assignment, reports in result.collect.repairs.items():
        for student, rep in sorted(reports.items()):
            if rep.status != "ok":
                lines.append(f"  {ids.get(student, student)}/{assignment}: {rep.line()}")
    flagged = [
        f"  {ids.get(s, s)}/{a}: " + "; ".join(f)
        for a, per in result.collect.flags.items() for s, f in sorted(per.items()) if f
    ]  # fmt: skip
    if flagged:
        lines += ["Flagged for a human look (grades unaffected):", *flagged]
    events = grading_report(result.work, result.results)
    if events:
        lines += ["Grading events:", *[_relabel(line, ids) for line in events.splitlines()]]
    if result.collect.skipped:
        lines += ["Skipped files:", *[f"  {s}" for s in result.collect.skipped]]
    bad = [o for o in result.outcomes if not o.ok]
    lines.append("")
    for o in bad:
        lines.append(
            f"MISMATCH {o.case.assignment} {o.case.student} ({o.case.description}): "
            + ", ".join(f"{g} expected {o.case.expected[g]:g} got {o.actual.get(g)}" for g in o.mismatches)
        )
    n = len(result.outcomes)
    lines.append(
        f"{n} submissions graded; {n - len(bad)} got exactly their expected score"
        + ("" if not bad else f", {len(bad)} did NOT")
    )
    lines.append(f"grades.csv: {result.work.reports / 'grades.csv'}; feedback: {result.work.feedback}")
    return "\n".join(lines)


def _relabel(line: str, ids: dict[str, str]) -> str:
    for sid, label in ids.items():
        line = line.replace(f"  {sid}/", f"  {label}/")
    return line
