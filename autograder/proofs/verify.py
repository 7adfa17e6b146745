"""Grade sample submissions through nbgrader's real autograde and compare with expectations.

:func:`compare` (expected vs actual score per grade cell, read from the gradebook) is used
by ``python -m autograder samples`` (:func:`run_samples`) and by the demo. Each run uses its
own working folder and gradebook (``<course work>/<name>/``, recreated), so samples never
mix with a class's real submissions.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course
from ..pipeline.grade import CellScore, GradeResult, autograde, prepare_gradebook, scores
from .build import SampleCase, packed_cases, release_of, sample_cases, write_submission


@dataclass
class CaseOutcome:
    """Expected vs actual scores of one sample case."""

    case: SampleCase
    actual: dict[str, float | None]
    result: GradeResult | None

    @property
    def mismatches(self) -> list[str]:
        return [
            gid for gid, want in self.case.expected.items()
            if self.actual.get(gid) is None or abs(float(self.actual[gid]) - want) > 1e-9
        ]  # fmt: skip

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def expected_total(self) -> float:
        return sum(self.case.expected.values())

    @property
    def actual_total(self) -> float:
        return sum(float(v or 0) for v in self.actual.values())


@dataclass
class SampleRun:
    """All outcomes of one run, with timings."""

    outcomes: list[CaseOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def fresh_course(course: Course, name: str) -> Course:
    """A course with an empty working folder ``<work>/<name>``."""
    work = course.work / name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    return course.with_work(work)


def compare(
    course: Course, graded: list[tuple[str, SampleCase]], results: list[GradeResult]
) -> list[CaseOutcome]:
    """Expected vs actual per grade cell for each ``(student id, case)`` graded in ``course``."""
    by_key = {(r.assignment, r.student): r for r in results}
    table: dict[str, dict[str, dict[str, CellScore]]] = {}
    outcomes = []
    for student, case in graded:
        if case.assignment not in table:
            table[case.assignment] = scores(course, case.assignment)
        cells = table[case.assignment].get(student, {})
        actual = {gid: cells[gid].auto_score if gid in cells else None for gid in case.expected}
        outcomes.append(CaseOutcome(case, actual, by_key.get((case.assignment, student))))
    return outcomes


def grade_cases(course: Course, cases: list[SampleCase], jobs: int) -> SampleRun:
    """Write the cases as submissions, autograde them, collect expected vs actual."""
    start = time.perf_counter()
    for case in cases:
        write_submission(course, case)
    results = autograde(course, [(c.assignment, c.student) for c in cases], jobs=jobs)
    run = SampleRun(compare(course, [(c.student, c) for c in cases], results))
    run.seconds = time.perf_counter() - start
    return run


def run_samples(
    course: Course, assignments: list[str], jobs: int = 2, name: str | None = None, pack: bool = False
) -> SampleRun:
    """Build and grade reference, blank and every sample of ``assignments``.

    ``pack`` grades compatible samples together (see :func:`autograder.proofs.build.pack_samples`).
    """
    # one folder per set of assignments: authors verify their notebooks at the same time
    work = fresh_course(course, name or "samples-" + "-".join(assignments))  # no regex characters: nbgrader matches paths with regexps
    prepare_gradebook(work, assignments)
    build = packed_cases if pack else sample_cases
    cases = [c for a in assignments for c in build(work, a, release_of(work, a))]
    return grade_cases(work, cases, jobs)


def format_run(run: SampleRun, verbose: bool = True) -> str:
    """Expected vs actual per grade cell, one block per sample; mismatches marked."""
    lines = []
    for o in run.outcomes:
        mark = "ok  " if o.ok else "FAIL"
        lines.append(
            f"{mark} {o.case.assignment:12s} {o.case.student:28s} {o.case.kind:11s} "
            f"expected {o.expected_total:5.1f}  actual {o.actual_total:5.1f}"
        )
        if o.case.student.startswith("pack") or not o.ok:
            lines.append(f"       ({o.case.description})")
        if verbose or not o.ok:
            for gid, want in o.case.expected.items():
                got = o.actual.get(gid)
                flag = "" if gid not in o.mismatches else "   <-- differs"
                got_s = "  -  " if got is None else f"{got:5.1f}"
                lines.append(f"       {gid:40s} expected {want:5.1f}  actual {got_s}{flag}")
        if o.result is not None and (o.result.error or (not o.ok and o.result.events)):
            for event in o.result.events:
                lines.append(f"       event: cell {event['cell']} {event['grade_id']} {event['kind']} {event['detail'][:100]}")
            if o.result.error:
                lines.append(f"       error: {o.result.error[-300:]}")
    bad = sum(not o.ok for o in run.outcomes)
    lines.append(
        f"{len(run.outcomes)} samples, {bad} differ from their expected scores "
        f"({run.seconds:.0f} s)"
    )
    return "\n".join(lines)


def feedback_leaks(course: Course, files: list[Path], grading_roots: list[str]) -> list[str]:
    """What feedback files show that they must not: a line of a hidden test of the course's
    sources in what the run printed (a line of 12 characters or more that appears in no visible
    cell, no cell of this student and not in the package), a hidden-test marker or the grader's
    sentinel anywhere, or an absolute path under ``grading_roots`` (the course, its working folder, the
    kernels' temporary folders). One entry per file and finding."""
    import html as html_module
    import re

    import nbformat

    hidden: set[str] = set()
    visible: set[str] = set()
    for assignment in course.assignments():
        for cell in nbformat.read(course.source_notebook(assignment), as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if re.match(r"\s*### BEGIN HIDDEN TESTS", line):
                    inside = True
                elif re.match(r"\s*### END HIDDEN TESTS", line):
                    inside = False
                else:
                    (hidden if inside else visible).add(line.strip())
    # the package students install is public too (its source may be printed, a test may repeat a line)
    package = course.root / "helpers" / "src"
    for path in package.rglob("*.py") if package.is_dir() else []:
        if "testkit" not in path.parts:
            visible |= {line.strip() for line in path.read_text(errors="replace").splitlines()}
    secret = {line for line in hidden - visible if len(line) >= 12 and not line.startswith(("#", "print("))}
    roots = sorted({r.rstrip("/") for r in grading_roots if r and r != "/"}, key=len, reverse=True)
    leaks: list[str] = []
    code = re.compile(r'<div class="highlight[^"]*">\s*<pre>.*?</pre>\s*</div>', re.S)  # the cells' sources
    for path in files:
        raw = Path(path).read_text(errors="replace")
        text = html_module.unescape(re.sub(r"<[^>]+>", "", raw))
        # paths: only in what the grading run printed, not in the student's own code
        outputs = html_module.unescape(re.sub(r"<[^>]+>", "", code.sub("", raw)))
        # the student's own cells may hold any line (a copied test helper), tracebacks of them too
        own = _own_lines(course, Path(path))
        found = sorted(line for line in secret - own if line in outputs)
        leaks += [f"{path}: hidden test line {line[:80]!r}" for line in found[:3]]
        if "_vaecourse_ran_" in text or "BEGIN HIDDEN TESTS" in text:
            leaks.append(f"{path}: the grader's sentinel")
        for root in roots:
            if root + "/" in outputs:
                leaks.append(f"{path}: a path of the grading machine ({root}/...)")
                break
    return leaks


def _own_lines(course: Course, feedback: Path) -> set[str]:
    """The stripped lines of the student's own cells (everything but the tests) of the notebook
    a feedback file was made from (``feedback/<student>/<a>/<a>.html``)."""
    import nbformat

    from ..nb.cells import is_test_cell

    try:
        student, assignment = feedback.parent.parent.name, feedback.parent.name
        nb = nbformat.read(course.autograded / student / assignment / f"{assignment}.ipynb", as_version=4)
    except (OSError, ValueError):
        return set()
    return {line.strip() for c in nb.cells if c.cell_type == "code" and not is_test_cell(c)
            for line in c.source.splitlines()}  # fmt: skip
