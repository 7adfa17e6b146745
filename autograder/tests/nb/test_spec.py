"""The assignment spec: tests, points, written answers, and which tests a fill-in owns."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course import Course
from autograder.nb.spec import AssignmentSpec, owned_tests


def cell(kind: str, gid: str | None, source: str = "", *, solution: bool = False, grade: bool = False,
         points: float = 0):  # fmt: skip
    c = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if gid:
        c.metadata["nbgrader"] = {"grade_id": gid, "solution": solution, "grade": grade,
                                  "locked": not solution, "points": points}  # fmt: skip
    return c


def notebook(*cells):
    nb = new_notebook()
    nb.cells = list(cells)
    return nb


#: a fill-in whose tests come after a written answer; a choice; a test of the setup
NB = notebook(
    cell("code", "setup", "import numpy as np"),
    cell("code", "test_setup", "assert np", grade=True, points=1),
    cell("code", "f", "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", solution=True),
    cell("markdown", "written_f", "### BEGIN SOLUTION\nBecause.\n### END SOLUTION", solution=True, grade=True,
         points=3),
    cell("code", "test_f", "assert f(1) == 1", grade=True, points=2),
    cell("markdown", None, "## Next part"),
    cell("code", "test_f_hidden", "assert f(2) == 2", grade=True, points=1),
    cell("code", "answer_q1", 'ANSWER_Q1 = "B"', solution=True),
    cell("code", "test_answer_q1", 'assert ANSWER_Q1 == "B"', grade=True, points=1),
    cell("code", "answer_q2", 'ANSWER_Q2 = "C"', solution=True, grade=True, points=1),  # graded by hand
)


def test_tests_points_and_manual_cells() -> None:
    spec = AssignmentSpec.from_notebook(NB, "toy")
    assert spec.tests == {"test_setup": 1, "test_f": 2, "test_f_hidden": 1, "test_answer_q1": 1}
    assert spec.manual == {"written_f": 3, "answer_q2": 1}
    assert set(spec.solutions) == {"f", "written_f", "answer_q1", "answer_q2"}
    assert spec.total == 5
    assert spec.reference_source("f") == "def f(x):\n    return x"
    assert spec.is_code("f") and not spec.is_code("written_f")
    assert spec.expected({"test_f"}) == {"test_setup": 1, "test_f": 0.0, "test_f_hidden": 1, "test_answer_q1": 1}


def test_a_written_answer_owns_no_test_and_does_not_split_a_group() -> None:
    """Only code can be tested: a markdown solution between a fill-in and its tests leaves
    them with the fill-in (the rule packing and the adversarial cases rely on)."""
    owned = owned_tests(NB.cells)
    assert owned == {"f": {"test_f", "test_f_hidden"}, "answer_q1": {"test_answer_q1"}, "answer_q2": set()}
    spec = AssignmentSpec.from_notebook(NB, "toy")
    assert spec.tests_owned_by(["written_f"]) == frozenset()
    assert spec.tests_owned_by(["f", "written_f"]) == {"test_f", "test_f_hidden"}
    assert "test_setup" not in spec.tests_owned_by(spec.solutions)  # above every fill-in


def test_read_the_toy_source_notebook(toy_course: Course) -> None:
    spec = AssignmentSpec.read(toy_course.source_notebook("toy_vae"))
    assert spec.name == "toy_vae"
    assert spec.tests == {"test_reparameterize": 2, "test_kl_divergence_prior": 1, "test_kl_divergence": 2,
                          "test_answer_q1": 1}  # fmt: skip
    assert spec.manual == {"written_trick": 2}
    assert spec.owned == {"reparameterize": {"test_reparameterize"},
                          "kl_divergence": {"test_kl_divergence_prior", "test_kl_divergence"},
                          "answer_q1": {"test_answer_q1"}}  # fmt: skip
    with pytest.raises(KeyError):
        spec.reference_source("test_reparameterize")
