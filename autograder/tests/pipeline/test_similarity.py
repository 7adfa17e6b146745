"""The similarity check on the toy demo's class with planted near-copies (autograder/tests/planted.py).

The demo's students (reference, blank, mistake packs, damaged and adversarial uploads) plus
four planted ones: the planted copy (renamed variables, reordered lines, comments) is found,
the honest students are not, and no grade changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.pipeline.similarity import LIMITS, class_similarity
from autograder.proofs.build import build_notebook, read_spec, release_of

from ..planted import ANSWERS, COPYCAT, HONEST1, HONEST2, ORIG


def plant(course: Course) -> None:
    """Write the planted students' submissions into ``course``'s ``submitted/``."""
    release, spec = release_of(course, "toy_vae"), read_spec(course, "toy_vae")
    for student, answers in ANSWERS.items():
        path = course.submitted / student / "toy_vae" / "toy_vae.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build_notebook(release, spec, answers), path)


@pytest.fixture(scope="module")
def planted_class(toy_demo, tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A copy of the demo's working folder with the planted submissions added."""
    course = toy_demo.work.with_work(tmp_path_factory.mktemp("similar") / "work")
    shutil.copytree(toy_demo.work.work, course.work)
    plant(course)
    return course


def test_planted_copy_found_honest_pairs_not(planted_class: Course, toy_demo) -> None:
    result = class_similarity(planted_class, "toy_vae")
    pairs = {frozenset((p.a, p.b)): p for p in result.pairs if p.kind == "code"}
    labels = {s.student_id: s.label for s in toy_demo.students}
    listed = sorted(tuple(sorted(labels.get(x, x) for x in k)) for k in pairs)
    assert frozenset((ORIG, COPYCAT)) in pairs, listed
    copy = pairs[frozenset((ORIG, COPYCAT))]
    assert copy.score >= 0.8 and set(copy.cells) == {"reparameterize", "kl_divergence"}
    assert "<mark>" in copy.marked_a and "<mark>" in copy.marked_b
    for honest in (HONEST1, HONEST2):
        assert not [k for k in pairs if honest in k], listed
    # the reference code is boilerplate: students who wrote it are not a pair for it
    ref = next(s for s, label in labels.items() if label == "Reference")
    assert not [k for k in pairs if ref in k], listed
    assert result.compared["code"] >= 4 and "cannot see" in LIMITS


def test_similarity_changes_no_file_and_no_grade(planted_class: Course) -> None:
    before = {p: p.stat().st_mtime_ns for p in planted_class.work.rglob("*") if p.is_file()}
    class_similarity(planted_class, "toy_vae")
    after = {p: p.stat().st_mtime_ns for p in planted_class.work.rglob("*") if p.is_file()}
    assert before == after


def test_renaming_and_reordering_alone_do_not_hide_a_copy(planted_class: Course, tmp_path: Path) -> None:
    """The copy's score against the original stays high; each honest version's score against
    the original is low (the distribution the threshold sits in)."""
    result = class_similarity(planted_class, "toy_vae", threshold=0.0)
    score = {frozenset((p.a, p.b)): p.score for p in result.pairs if p.kind == "code"}
    assert score[frozenset((ORIG, COPYCAT))] >= 0.8
    for honest in (HONEST1, HONEST2):
        assert score.get(frozenset((ORIG, honest)), 0.0) < 0.3


def test_only_the_most_similar_pairs_keep_their_code(planted_class: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    """A class of hundreds may have thousands of pairs above a low threshold: the result keeps
    the MAX_PAIRS highest (with their marked code) and counts all of them."""
    from autograder.pipeline import similarity

    monkeypatch.setattr(similarity, "MIN_OVERLAP", 1)  # many weak pairs (each shares a little)
    everything = class_similarity(planted_class, "toy_vae", threshold=0.01)
    monkeypatch.setattr(similarity, "MAX_PAIRS", 1)
    capped = class_similarity(planted_class, "toy_vae", threshold=0.01)
    assert everything.above == len(everything.pairs) == capped.above > 1
    assert len(capped.pairs) == 1 and capped.pairs[0].score == everything.pairs[0].score
