"""Sample submissions: the agreed format, and building them into notebooks.

Each assignment has ``autograder/samples/<assignment>/samples.py`` (written by the notebook's
author) defining ``SAMPLES``, a list of :class:`Sample`. A sample replaces some solution
cells (by grade id) of the *release* notebook; every other solution cell gets the reference
code of the source notebook, so each sample isolates one mistake or one alternative. The
"reference" (all reference code) and "blank" (the release as is) samples are implicit.

Expected autograde score: total autograded points minus the points of the sample's
``fails`` (each of those grade cells must lose all its points, every other one must keep
all); reference = full marks; blank = 0.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .course import Course

KINDS = ("mistake", "alternative")
NAME = re.compile(r"[a-z0-9_]+")
RESERVED = ("reference", "blank")
_MARKER = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)\s*$")


@dataclass(frozen=True)
class Sample:
    """One sample submission: a common mistake or an alternative correct answer."""

    name: str
    kind: str
    description: str
    answers: dict[str, str]
    fails: frozenset[str] | set[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name) or self.name in RESERVED:
            raise ValueError(f"sample name {self.name!r}: use [a-z0-9_]+, not {RESERVED}")
        if self.kind not in KINDS:
            raise ValueError(f"sample {self.name}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.kind == "alternative" and self.fails:
            raise ValueError(f"sample {self.name}: an alternative answer cannot fail tests")
        if self.kind == "mistake" and not self.fails:
            raise ValueError(f"sample {self.name}: a mistake must name the tests it fails")
        if not self.answers:
            raise ValueError(f"sample {self.name}: no answers given")
        object.__setattr__(self, "fails", frozenset(self.fails))


def function_cell(signature: str, body: str) -> str:
    """A solution cell ``def <signature>:`` with ``body`` indented under it (for samples.py).

    A one-line body that is not a ``return`` or an ``import`` is taken as the returned
    expression, so samples can write ``"a + b"`` for ``return a + b``.
    """
    lines = body.strip("\n").splitlines()
    if len(lines) == 1 and not lines[0].startswith(("return", "import")):
        lines = ["return " + lines[0]]
    return f"def {signature}:\n" + "\n".join("    " + line for line in lines) + "\n"


def cell_meta(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata ({} when none)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


def strip_markers(source: str) -> str:
    """The source without nbgrader's ``### BEGIN/END SOLUTION`` (and similar) lines."""
    return "\n".join(line for line in source.splitlines() if not _MARKER.match(line))


@dataclass
class AssignmentSpec:
    """What the source notebook says about grading."""

    name: str
    solutions: dict[str, NotebookNode]  # grade_id -> source cell (code or markdown)
    tests: dict[str, float]  # autograded grade cells: grade_id -> points
    manual: dict[str, float]  # manually graded cells: grade_id -> points

    @classmethod
    def read(cls, course: Course, assignment: str) -> AssignmentSpec:
        nb = nbformat.read(course.source_notebook(assignment), as_version=4)
        solutions, tests, manual = {}, {}, {}
        for cell in nb.cells:
            meta = cell_meta(cell)
            gid = meta.get("grade_id")
            if not gid:
                continue
            if meta.get("solution"):
                solutions[gid] = cell
            if meta.get("grade"):
                points = float(meta.get("points", 0))
                if cell.cell_type == "code" and not meta.get("solution"):
                    tests[gid] = points
                else:
                    manual[gid] = points
        return cls(assignment, solutions, tests, manual)

    @property
    def total(self) -> float:
        return sum(self.tests.values())

    def reference_source(self, grade_id: str) -> str:
        return strip_markers(self.solutions[grade_id].source)

    def expected(self, fails: frozenset[str] | set[str]) -> dict[str, float]:
        """Expected autograded score per test cell."""
        return {gid: (0.0 if gid in fails else pts) for gid, pts in self.tests.items()}

    def validate(self, sample: Sample) -> None:
        """Fail clearly when a sample names cells the notebook does not have."""
        unknown = set(sample.answers) - set(self.solutions)
        if unknown:
            raise ValueError(
                f"{self.name} sample {sample.name}: no solution cell with grade_id "
                f"{sorted(unknown)}; solution cells: {sorted(self.solutions)}"
            )
        bad = set(sample.fails) - set(self.tests)
        if bad:
            raise ValueError(
                f"{self.name} sample {sample.name}: fails names {sorted(bad)}, which are not "
                f"autograded test cells; tests: {sorted(self.tests)}"
            )


def load_samples(course: Course, assignment: str) -> list[Sample]:
    """The assignment's ``SAMPLES`` (empty when it has no ``samples.py`` yet), validated."""
    path = course.samples / assignment / "samples.py"
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location(f"_samples_{assignment}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    samples = list(getattr(module, "SAMPLES", []))
    names = [s.name for s in samples]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{path}: duplicate sample names {sorted(duplicates)}")
    info = AssignmentSpec.read(course, assignment)
    for sample in samples:
        if not isinstance(sample, Sample):
            raise TypeError(f"{path}: SAMPLES holds a {type(sample).__name__}, not a Sample")
        info.validate(sample)
    return samples


def build_notebook(
    release: NotebookNode, spec: AssignmentSpec, answers: dict[str, str] | None
) -> NotebookNode:
    """A submission made from the release notebook.

    ``answers=None`` gives the blank release; otherwise every solution cell gets its entry
    of ``answers`` or, when absent, the reference code of the source notebook.
    """
    nb = copy.deepcopy(release)
    if answers is None:
        return nb
    for cell in nb.cells:
        meta = cell_meta(cell)
        gid = meta.get("grade_id")
        if meta.get("solution") and gid in spec.solutions:
            cell.source = answers[gid] if gid in answers else spec.reference_source(gid)
    return nb


@dataclass(frozen=True)
class SampleCase:
    """A sample ready to grade: its student id, notebook and expected scores."""

    student: str
    assignment: str
    kind: str  # reference, blank, mistake, alternative (damaged/adversarial: see demo)
    description: str
    notebook: NotebookNode | bytes
    expected: dict[str, float]  # per test cell


def sample_cases(course: Course, assignment: str, release: NotebookNode) -> list[SampleCase]:
    """Reference, blank and the assignment's samples, built from ``release``."""
    spec = AssignmentSpec.read(course, assignment)
    cases = [
        SampleCase("reference", assignment, "reference", "the reference solution",
                   build_notebook(release, spec, {}), spec.expected(frozenset())),
        SampleCase("blank", assignment, "blank", "the release as is",
                   build_notebook(release, spec, None), spec.expected(frozenset(spec.tests))),
    ]  # fmt: skip
    for sample in load_samples(course, assignment):
        cases.append(SampleCase(
            sample.name, assignment, sample.kind, sample.description,
            build_notebook(release, spec, sample.answers), spec.expected(sample.fails),
        ))  # fmt: skip
    return cases


def write_submission(course: Course, case: SampleCase) -> Path:
    """Put a case's notebook where nbgrader expects a submission; return the path."""
    folder = course.submitted / case.student / case.assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case.assignment}.ipynb"
    if isinstance(case.notebook, bytes):
        path.write_bytes(case.notebook)
    else:
        nbformat.write(case.notebook, path)
    return path


def release_of(course: Course, assignment: str) -> NotebookNode:
    """The release notebook generated into the course's scratch release folder."""
    return nbformat.read(course.grading_release / assignment / f"{assignment}.ipynb", as_version=4)


def owned_tests(release: NotebookNode, spec: AssignmentSpec) -> dict[str, set[str]]:
    """Fill-in grade id -> the test cells between it and the next fill-in (release order)."""
    owned: dict[str, set[str]] = {}
    current: str | None = None
    for cell in release.cells:
        meta = cell_meta(cell)
        gid = meta.get("grade_id")
        if meta.get("solution"):
            current = gid
            owned.setdefault(gid, set())
        elif current is not None and gid in spec.tests:
            owned[current].add(gid)
    return owned


def pack_samples(release: NotebookNode, spec: AssignmentSpec, samples: list[Sample]) -> list[list[Sample]]:
    """Group samples that can share one notebook (fast CI grading).

    Two samples share a notebook when they answer different fill-ins, fail different
    tests, and neither fails a test that belongs to (follows) a fill-in the other answers.
    Tests are independent of other fill-ins by convention, so each pack's expected score
    is exact. ``python -m autograder samples`` without ``--pack`` grades every sample on
    its own, which is the stricter proof.
    """
    owned = owned_tests(release, spec)

    def territory(s: Sample) -> set[str]:
        return set().union(*[owned.get(g, set()) for g in s.answers])

    def compatible(a: Sample, b: Sample) -> bool:
        return (
            not set(a.answers) & set(b.answers)
            and not a.fails & b.fails
            and not a.fails & territory(b)
            and not b.fails & territory(a)
        )

    packs: list[list[Sample]] = []
    for sample in sorted(samples, key=lambda s: (-len(s.answers), s.name)):
        for pack in packs:
            if all(compatible(sample, other) for other in pack):
                pack.append(sample)
                break
        else:
            packs.append([sample])
    return packs


def packed_cases(course: Course, assignment: str, release: NotebookNode) -> list[SampleCase]:
    """Reference, blank and the samples packed into as few notebooks as possible."""
    spec = AssignmentSpec.read(course, assignment)
    cases = sample_cases(course, assignment, release)[:2]
    for n, pack in enumerate(pack_samples(release, spec, load_samples(course, assignment)), 1):
        answers = {k: v for s in pack for k, v in s.answers.items()}
        fails = frozenset().union(*[s.fails for s in pack])
        kinds = {s.kind for s in pack}
        cases.append(SampleCase(
            f"pack{n}", assignment, kinds.pop() if len(kinds) == 1 else "mixed",
            " + ".join(s.name for s in pack), build_notebook(release, spec, answers), spec.expected(fails),
        ))  # fmt: skip
    return cases
