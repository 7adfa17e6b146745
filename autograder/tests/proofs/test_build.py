"""Samples built into notebooks, their expected scores, and which samples may share a notebook."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.nb.cells import grade_id
from autograder.nb.spec import AssignmentSpec
from autograder.proofs.build import (
    SampleCase,
    build_notebook,
    load_samples,
    pack_samples,
    packed_cases,
    read_spec,
    release_of,
    sample_cases,
    write_submission,
)
from autograder.proofs.sample import Sample

from ..conftest import make_toy_course
from ..nb.test_spec import NB


def test_build_notebook_answers_then_reference_then_blank(toy_gradebook: Course) -> None:
    release, spec = release_of(toy_gradebook, "toy_vae"), read_spec(toy_gradebook, "toy_vae")
    nb = build_notebook(release, spec, {"kl_divergence": "def kl_divergence(m, l):\n    return 0"})
    by_id = {grade_id(c): c.source for c in nb.cells}
    assert by_id["kl_divergence"] == "def kl_divergence(m, l):\n    return 0"
    assert by_id["reparameterize"] == spec.reference_source("reparameterize") and "BEGIN SOLUTION" not in by_id["reparameterize"]
    assert by_id["written_trick"] == spec.reference_source("written_trick")
    assert by_id["test_reparameterize"] == {grade_id(c): c.source for c in release.cells}["test_reparameterize"]
    blank = build_notebook(release, spec, None)
    assert [c.source for c in blank.cells] == [c.source for c in release.cells] and blank is not release


def test_cases_and_their_expected_scores(toy_gradebook: Course) -> None:
    release = release_of(toy_gradebook, "toy_vae")
    cases = {c.student: c for c in sample_cases(toy_gradebook, "toy_vae", release)}
    assert sum(cases["reference"].expected.values()) == 6 and sum(cases["blank"].expected.values()) == 0
    assert cases["sigma_as_variance"].expected["test_reparameterize"] == 0
    assert sum(cases["sigma_as_variance"].expected.values()) == 4 and sum(cases["sqrt_exp"].expected.values()) == 6
    assert len(cases) == 2 + len(load_samples(toy_gradebook, "toy_vae"))
    packs = packed_cases(toy_gradebook, "toy_vae", release)
    assert [c.student for c in packs[:2]] == ["reference", "blank"]
    samples_in_packs = [name for c in packs[2:] for name in c.description.split(" + ")]
    assert sorted(samples_in_packs) == sorted(s.name for s in load_samples(toy_gradebook, "toy_vae"))
    assert len(packs) < len(cases)
    assert load_samples(toy_gradebook, "toy_quiz") == []  # no samples.py: no samples


def _s(name: str, kind: str, answers: set[str], fails: set[str] = frozenset()) -> Sample:
    return Sample(name, kind, name, {g: "..." for g in answers}, fails)


def test_packs_respect_test_ownership() -> None:
    """A sample that fails a test of another fill-in never shares a notebook with an answer to
    that fill-in, also when a written answer sits between the fill-in and its tests."""
    spec = AssignmentSpec.from_notebook(NB, "toy")
    samples = [
        _s("f_alt", "alternative", {"f"}),
        _s("f_wrong", "mistake", {"f"}, {"test_f"}),
        _s("q1_wrong", "mistake", {"answer_q1"}, {"test_answer_q1"}),
        _s("q2_breaks_f", "mistake", {"answer_q2"}, {"test_f"}),
        _s("written_alt", "alternative", {"written_f"}),
    ]
    packs = [[s.name for s in pack] for pack in pack_samples(spec, samples)]
    assert packs == [["f_alt", "q1_wrong", "written_alt"], ["f_wrong"], ["q2_breaks_f"]]


def _course_with_samples(tmp_path: Path, text: str) -> Course:
    course = make_toy_course(tmp_path)
    (course.samples / "toy_vae" / "samples.py").write_text("from autograder.proofs.sample import Sample\n" + text)
    return course


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("SAMPLES = [Sample('a', 'alternative', 'd', {'nope': 'x'})]", ValueError, "no solution cell with grade_id \\['nope'\\]"),
        ("SAMPLES = [Sample('a', 'mistake', 'd', {'answer_q1': 'x'}, {'written_trick'})]", ValueError, "not autograded test cells"),
        ("SAMPLES = [Sample('a', 'alternative', 'd', {'answer_q1': 'x'})] * 2", ValueError, "duplicate sample names \\['a'\\]"),
        ("SAMPLES = [('a', 'alternative')]", TypeError, "holds a tuple"),
    ],
)  # fmt: skip
def test_bad_samples_files_fail_clearly(tmp_path: Path, text: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        load_samples(_course_with_samples(tmp_path, text), "toy_vae")


def test_write_submission_notebook_or_bytes(tmp_path: Path) -> None:
    course = Course(root=tmp_path, source=tmp_path, release=tmp_path, work=tmp_path / "w", samples=tmp_path)
    path = write_submission(course, SampleCase("s1", "toy_vae", "damaged", "", b"%PDF", {}))
    assert path == course.submitted / "s1" / "toy_vae" / "toy_vae.ipynb" and path.read_bytes() == b"%PDF"
    path = write_submission(course, SampleCase("s2", "toy_vae", "reference", "", NB, {}))
    assert len(nbformat.read(path, as_version=4).cells) == len(NB.cells)
