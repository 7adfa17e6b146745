"""Damaged and adversarial submissions: what each one is made of and the score it must get.

(Grading them is the demo's job: ``test_demo_toy.py``.)
"""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.course import Course
from autograder.nb.cells import grade_id, is_code_fill_in, nbgrader_meta
from autograder.nb.spec import AssignmentSpec
from autograder.proofs.build import load_samples, read_spec, reference_case, release_of
from autograder.proofs.cases import OUTLIVING, always_equal, build_cases, crash_in_answer, makers

from ..nb.test_spec import NB

PATHS = {"repo": "/repo", "db": "/work/gradebook.db", "submitted": "/work/submitted",
         "source": "/repo/solutions/{assignment}/{assignment}.ipynb"}  # fmt: skip


@pytest.fixture(scope="module")
def toy(toy_gradebook: Course):
    release, spec = release_of(toy_gradebook, "toy_vae"), read_spec(toy_gradebook, "toy_vae")
    others = {"toy_quiz": reference_case(release_of(toy_gradebook, "toy_quiz"), read_spec(toy_gradebook, "toy_quiz")).notebook}
    samples = load_samples(toy_gradebook, "toy_vae")
    cases = {c.student: c for c in build_cases(release, spec, samples, others, PATHS, toy=True)}
    return release, spec, samples, others, cases


def total(case) -> float:
    return sum(case.expected.values())


def test_every_maker_makes_a_case_and_toy_only_ones_stay_out_of_real_runs(toy) -> None:
    *_, cases = toy
    assert set(cases) == {m.name for m in makers(PATHS, toy=True)}
    real = {m.name for m in makers(PATHS, toy=False)}
    assert {"hang", "flood", "crash_in_answer", "always_equal", "monkeypatch_core"}.isdisjoint(real)
    assert {"escape_attempts", "memory_hog", "lost_metadata"} <= real


@pytest.mark.parametrize("name", ["empty_file", "not_a_notebook", "wrong_assignment"])
def test_rejected_files_expect_zero(toy, name: str) -> None:
    *_, cases = toy
    assert isinstance(cases[name].notebook, bytes) and total(cases[name]) == 0


def test_wrong_assignment_needs_another_assignment(toy) -> None:
    release, spec, samples, _, _ = toy
    assert "wrong_assignment" not in {c.student for c in build_cases(release, spec, samples, {}, PATHS)}


def test_damaged_files_are_damaged_and_expect_full_marks(toy) -> None:
    *_, cases = toy
    for name in ("lost_metadata", "code_to_markdown", "tests_deleted_duplicated", "inserted_reordered", "nbformat_v3"):
        assert total(cases[name]) == 6, name
    lost = json.loads(cases["lost_metadata"].notebook)
    assert lost["nbformat_minor"] == 2 and not any(nbgrader_meta(c) for c in lost["cells"])
    assert not any(is_code_fill_in(c) for c in cases["code_to_markdown"].notebook.cells)
    ids = [grade_id(c) for c in cases["tests_deleted_duplicated"].notebook.cells]
    assert "test_reparameterize" not in ids and ids.count("test_answer_q1") == 2
    assert grade_id(cases["inserted_reordered"].notebook.cells[-1]) == "reparameterize"
    assert json.loads(cases["nbformat_v3"].notebook)["nbformat"] == 3


def test_adversarial_cases_expect_what_their_honest_part_earns(toy) -> None:
    _, spec, samples, _, cases = toy
    mistake = next(s for s in samples if s.kind == "mistake")
    assert cases["monkeypatch"].expected == spec.expected(mistake.fails)
    assert mistake.name in cases["monkeypatch"].description
    assert total(cases["transformer"]) == 0  # on the blank release
    for name in ("exit_kernel", "quit_kernel", "memory_hog", "hang", "flood", "escape_attempts"):
        assert total(cases[name]) == 6, name
    escape = "\n".join(c.source for c in cases["escape_attempts"].notebook.cells)
    assert "/repo/solutions/toy_vae/toy_vae.ipynb" in escape and "/work/gradebook.db" in escape


def test_crash_in_answer_costs_the_tests_of_its_fill_in(toy) -> None:
    *_, cases = toy
    case = cases["crash_in_answer"]
    answer = {grade_id(c): c.source for c in case.notebook.cells}["reparameterize"]
    assert "_honest_reparameterize = reparameterize" in answer and "os._exit(3)" in answer
    assert [g for g, v in case.expected.items() if v == 0] == ["test_reparameterize"]


def test_always_equal_replaces_functions_and_answer_variables(toy) -> None:
    *_, cases = toy
    answers = {grade_id(c): c.source for c in cases["always_equal"].notebook.cells}
    assert answers["reparameterize"].endswith("def reparameterize(*args, **kwargs):\n    return AlwaysEqual()\n")
    assert answers["answer_q1"].endswith("\nANSWER_Q1 = AlwaysEqual()\n")
    assert total(cases["always_equal"]) == 0


def test_tests_after_a_written_answer_still_belong_to_the_fill_in() -> None:
    """The ownership rule in the adversarial cases: a written answer between a fill-in and
    its tests does not take the tests away from the fill-in."""
    spec = AssignmentSpec.from_notebook(NB, "toy")
    equal = always_equal(NB, spec, [], {})
    assert {g for g, v in equal.expected.items() if v == 0} == {"test_f", "test_f_hidden", "test_answer_q1"}
    crash = crash_in_answer(NB, spec, [], {})
    assert {g for g, v in crash.expected.items() if v == 0} == {"test_f", "test_f_hidden"}
    assert nbformat.writes(crash.notebook)  # a valid notebook


def test_processes_that_try_to_outlive_the_notebook_run_on_the_blank_release(toy) -> None:
    """Each starts what issue 26 is about right after the setup cell of the blank release: zero
    marks expected; they run on the real assignments too (they are quick)."""
    release, *_, cases = toy
    real = {m.name for m in makers(PATHS, toy=False)}
    for name, needle in zip(OUTLIVING, ("os.setsid()", "os._exit(0)  # the grandchild", "signal.SIG_IGN",
                                        "threading.Thread", "SIGXFSZ"), strict=True):  # fmt: skip
        case = cases[name]
        assert total(case) == 0 and name in real
        setup = next(i for i, c in enumerate(case.notebook.cells) if grade_id(c) == "setup")
        assert needle in case.notebook.cells[setup + 1].source
        assert len(case.notebook.cells) == len(release.cells) + 1
