"""The end-to-end demo: sample submissions as course-site downloads, graded like a class.

:func:`run_demo` turns the sample submissions into a zip of course-site downloads
(``<Lastname>_<id>_<attempt>_<file>.ipynb``; one student has an older attempt that must be
ignored, one uploaded ``Copy of <assignment> (1).ipynb``), then runs the instructor's
pipeline on it exactly as for a class (:func:`autograder.pipeline.run.grade_class`:
collect with nbgrader zip_collect and repair, autograde in parallel sandboxed kernels,
feedback, export). It prints the table of autograded scores per student and notebook and
compares every grade cell with what that submission must get
(:func:`autograder.proofs.verify.compare`). Students:

* ``Reference``/``Blank``: the reference solution / the untouched release, every notebook;
* ``Pack<n>``: the assignments' mistakes and alternatives (compatible ones share a
  notebook, see :func:`autograder.proofs.build.pack_samples`; ``pack=False``: one student each);
* one student per damaged or adversarial case (:mod:`autograder.proofs.cases`), on one assignment.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..course import Course
from ..pipeline.grade import prepare_gradebook
from ..pipeline.report import format_collect, format_events, format_table, score_table
from ..pipeline.run import ClassRun, grade_class
from .build import (
    SampleCase,
    load_samples,
    packed_cases,
    read_spec,
    reference_case,
    release_of,
    sample_cases,
)
from .cases import build_cases
from .verify import CaseOutcome, compare, fresh_course

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
    run: ClassRun
    table: str
    work: Course

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    @property
    def labels(self) -> dict[str, str]:
        """Student id -> demo label."""
        return {s.student_id: s.label for s in self.students}


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
    spec = read_spec(course, target)
    others = {a: reference_case(releases[a], read_spec(course, a)).notebook for a in assignments if a != target}
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
    """Plan, write the downloads, grade them as a class, compare with the expected scores."""
    work = fresh_course(course, name)
    prepare_gradebook(work, assignments)
    students = plan(work, assignments, target, pack, toy)
    releases = {a: release_of(work, a) for a in assignments}
    downloads = write_downloads(students, releases, work.work / "downloads.zip")
    # the demo has no grader: feedback and grades are written with the written answers ungraded
    run = grade_class(work, downloads, assignments, jobs=jobs, prepared=True, force=True)
    outcomes = compare(work, [(s.student_id, case) for s in students for case in s.cases], run.results)
    expected_totals = {(s.student_id, c.assignment): sum(c.expected.values()) for s in students for c in s.cases}
    labels = {s.student_id: f"{s.label} ({s.student_id})" for s in students}
    table = format_table(score_table(work, assignments), assignments, labels, expected_totals)
    return DemoResult(students, outcomes, run, table, work)


def format_demo(result: DemoResult) -> str:
    """The demo's printout: the score table, the collect report, grading events, verdict."""
    labels = result.labels
    lines = ["Autograded scores (score/max; '!x' marks a score that should have been x):", result.table, ""]
    lines += ["Collected (repairs, rejections, flags for a human look; grades unaffected by flags):",
              format_collect(result.run.collect, labels)]  # fmt: skip
    events = format_events(result.run.results, labels)
    if events:
        lines += ["Grading events:", events]
    peak = max((r.kernel_peak_mb for r in result.run.results), default=0.0)
    lines.append(f"Largest grading kernel: {peak:.0f} MB resident")
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
    lines.append(f"grades.csv: {result.run.grades}; feedback: {result.work.feedback}")
    waiting = sum(result.run.ungraded.values())
    if waiting:
        lines.append(f"({waiting} written answers are left for hand grading, as in a real class: "
                     "grades.csv and feedback count them as zero until graded in the formgrader)")
    return "\n".join(lines)


def undiagnosed(result: DemoResult) -> list[str]:
    """The demo's catalogued mistakes whose feedback does not name them: for every sample of
    kind "mistake" that answers a function fill-in (the kind the grader diagnoses: no class,
    training cell or answer variable), its feedback must carry the sample's description
    (:mod:`autograder.pipeline.diagnose`). One entry per sample missed."""
    import html as html_module
    import re

    from ..nb.cells import fill_in_target
    from .build import load_samples

    catalogue = {a: {s.name: s for s in load_samples(result.work, a)} for a in {c.assignment for s in result.students for c in s.cases}}
    missed = []
    for student in result.students:
        for case in student.cases:
            if case.kind not in ("mistake", "mixed"):
                continue
            path = result.work.feedback / student.student_id / case.assignment / f"{case.assignment}.html"
            text = html_module.unescape(re.sub(r"<[^>]+>", "", path.read_text())) if path.is_file() else ""
            text = " ".join(text.split())
            spec = read_spec(result.work, case.assignment)
            for name in case.description.split(" + "):
                sample = catalogue[case.assignment].get(name)
                if sample is None or sample.kind != "mistake":
                    continue
                diagnosable = [g for g in sample.answers if spec.is_code(g) and (t := fill_in_target(
                    spec.reference_source(g), g)) is not None and t["kind"] == "function" and spec.owned.get(g)]
                if diagnosable and " ".join(sample.description.split()) not in text:
                    missed.append(f"{case.assignment}/{name} ({student.label}): {sample.description!r} not in its feedback")
    return missed
