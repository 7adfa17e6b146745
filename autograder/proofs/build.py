"""Sample submissions built into notebooks, with the scores they must get.

A sample (:class:`~autograder.proofs.sample.Sample`) replaces some solution cells (by grade
id) of the *release* notebook; every other solution cell gets the reference code of the
source notebook, so each sample isolates one mistake or one alternative. The "reference"
(all reference code) and "blank" (the release as is) samples are implicit.

Expected autograde score: total autograded points minus the points of the sample's
``fails`` (each of those grade cells must lose all its points, every other one must keep
all); reference = full marks; blank = 0. A new kind of sample (say, one built from the
helpers package) is built here and checked by :mod:`autograder.proofs.verify`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from ..course import Course
from ..nb.cells import grade_id, is_solution
from ..nb.sample import Sample, load_samples_file
from ..nb.spec import AssignmentSpec


def read_spec(course: Course, assignment: str) -> AssignmentSpec:
    """The assignment's spec, from its source notebook."""
    return AssignmentSpec.read(course.source_notebook(assignment))


def release_of(course: Course, assignment: str) -> NotebookNode:
    """The release notebook generated into the course's scratch release folder."""
    return nbformat.read(course.grading_release_notebook(assignment), as_version=4)


def check_sample(spec: AssignmentSpec, sample: Sample) -> None:
    """Fail clearly when a sample names cells the notebook does not have."""
    unknown = set(sample.answers) - set(spec.solutions)
    if unknown:
        raise ValueError(
            f"{spec.name} sample {sample.name}: no solution cell with grade_id "
            f"{sorted(unknown)}; solution cells: {sorted(spec.solutions)}"
        )
    bad = set(sample.fails) - set(spec.tests)
    if bad:
        raise ValueError(
            f"{spec.name} sample {sample.name}: fails names {sorted(bad)}, which are not "
            f"autograded test cells; tests: {sorted(spec.tests)}"
        )


def load_samples(course: Course, assignment: str) -> list[Sample]:
    """The assignment's ``SAMPLES`` (empty when it has no ``samples.py`` yet), validated."""
    samples = load_samples_file(course.samples / assignment / "samples.py", assignment)
    info = read_spec(course, assignment)
    for sample in samples:
        check_sample(info, sample)
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
        gid = grade_id(cell)
        if is_solution(cell) and gid in spec.solutions:
            cell.source = answers[gid] if gid in answers else spec.reference_source(gid)
    return nb


@dataclass(frozen=True)
class SampleCase:
    """A submission ready to grade: its student id, notebook and expected scores."""

    student: str
    assignment: str
    kind: str  # reference, blank, mistake, alternative, mixed (a pack), damaged, adversarial
    description: str
    notebook: NotebookNode | bytes
    expected: dict[str, float]  # per test cell


def reference_case(release: NotebookNode, spec: AssignmentSpec) -> SampleCase:
    """All reference answers: full marks."""
    return SampleCase("reference", spec.name, "reference", "the reference solution",
                      build_notebook(release, spec, {}), spec.expected(frozenset()))  # fmt: skip


def blank_case(release: NotebookNode, spec: AssignmentSpec) -> SampleCase:
    """The release as is: zero."""
    return SampleCase("blank", spec.name, "blank", "the release as is",
                      build_notebook(release, spec, None), spec.expected(frozenset(spec.tests)))  # fmt: skip


def sample_cases(course: Course, assignment: str, release: NotebookNode) -> list[SampleCase]:
    """Reference, blank and each of the assignment's samples on its own, built from ``release``."""
    spec = read_spec(course, assignment)
    cases = [reference_case(release, spec), blank_case(release, spec)]
    for sample in load_samples(course, assignment):
        cases.append(SampleCase(
            sample.name, assignment, sample.kind, sample.description,
            build_notebook(release, spec, sample.answers), spec.expected(sample.fails),
        ))  # fmt: skip
    return cases


def pack_samples(spec: AssignmentSpec, samples: list[Sample]) -> list[list[Sample]]:
    """Group samples that can share one notebook (fast CI grading).

    Two samples share a notebook when they answer different fill-ins, fail different
    tests, and neither fails a test that belongs to a fill-in the other answers
    (:func:`autograder.nb.spec.owned_tests`). Tests are independent of other fill-ins by
    convention, so each pack's expected score is exact. ``python -m autograder samples``
    without ``--pack`` grades every sample on its own, which is the stricter proof.
    """

    def compatible(a: Sample, b: Sample) -> bool:
        return (
            not set(a.answers) & set(b.answers)
            and not a.fails & b.fails
            and not a.fails & spec.tests_owned_by(b.answers)
            and not b.fails & spec.tests_owned_by(a.answers)
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
    spec = read_spec(course, assignment)
    cases = [reference_case(release, spec), blank_case(release, spec)]
    for n, pack in enumerate(pack_samples(spec, load_samples(course, assignment)), 1):
        answers = {k: v for s in pack for k, v in s.answers.items()}
        fails = frozenset().union(*[s.fails for s in pack])
        kinds = {s.kind for s in pack}
        cases.append(SampleCase(
            f"pack{n}", assignment, kinds.pop() if len(kinds) == 1 else "mixed",
            " + ".join(s.name for s in pack), build_notebook(release, spec, answers), spec.expected(fails),
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
