"""Cell roles, markers and defined names: the one reading of a cell that every layer uses."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder.nb import cells


def _cell(kind: str = "code", source: str = "", **nbg: object):
    c = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if nbg:
        c.metadata["nbgrader"] = {"grade_id": "x", "solution": False, "grade": False, "locked": False, **nbg}
    return c


@pytest.mark.parametrize(
    ("cell", "meta"),
    [
        ({"cell_type": "code"}, {}),
        ({"metadata": None}, {}),
        ({"metadata": {"nbgrader": "garbage"}}, {}),
        ({"metadata": {"nbgrader": {"grade_id": "a"}}}, {"grade_id": "a"}),
    ],
)
def test_nbgrader_meta_is_lenient_with_raw_cells(cell: dict, meta: dict) -> None:
    assert cells.nbgrader_meta(cell) == meta


def test_nbgrader_meta_is_a_copy() -> None:
    c = _cell(grade_id="a")
    cells.nbgrader_meta(c)["grade_id"] = "b"
    assert cells.grade_id(c) == "a"


def test_grade_id_of_unnamed_cells_is_none() -> None:
    assert cells.grade_id(_cell()) is None
    assert cells.grade_id({"metadata": {"nbgrader": {"grade_id": ""}}}) is None


@pytest.mark.parametrize(
    ("cell", "test", "code_fill_in", "written", "locked"),
    [
        (_cell("code", grade=True, locked=True, points=1), True, False, False, True),
        (_cell("code", solution=True), False, True, False, False),
        (_cell("markdown", solution=True, grade=True, points=2), False, False, True, False),
        (_cell("code", solution=True, grade=True, points=1), False, True, False, False),  # graded by hand
        (_cell("markdown", grade=True, locked=True), False, False, False, True),
        (_cell("code", locked=True), False, False, False, True),
        (_cell("code"), False, False, False, False),
    ],
)
def test_roles(cell, test: bool, code_fill_in: bool, written: bool, locked: bool) -> None:
    assert cells.is_test_cell(cell) is test
    assert cells.is_code_fill_in(cell) is code_fill_in
    assert cells.is_written_answer(cell) is written
    assert cells.is_locked(cell) is locked
    assert cells.is_solution(cell) is (code_fill_in or written)


def test_strip_markers_keeps_everything_else() -> None:
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
              "### BEGIN HIDDEN TESTS\nassert f(1) == 1\n### END HIDDEN TESTS\n"
              "# ### BEGIN SOLUTION in a comment stays\n### BEGIN MARK SCHEME\n")  # fmt: skip
    assert cells.strip_markers(source) == (
        "def f(x):\n    return x\nassert f(1) == 1\n# ### BEGIN SOLUTION in a comment stays"
    )


def test_definitions_in_order_top_level_only() -> None:
    source = ("import numpy as np\nclass Sampling:\n    def call(self):\n        inner = 1\n"
              "def f(x):\n    y = 2\nANSWER_Q1, (a, b) = 'B', (1, 2)\nz: int = 3\nz += 1\nf(1)\n")  # fmt: skip
    assert cells.definitions(source) == [
        ("class", "Sampling"), ("def", "f"), ("assign", "ANSWER_Q1"), ("assign", "a"),
        ("assign", "b"), ("assign", "z"), ("assign", "z"),
    ]  # fmt: skip
    assert cells.first_definition(source, "def") == "f"
    assert cells.first_definition(source, "assign") == "ANSWER_Q1"
    assert cells.first_definition("x = 1", "def") is None


def test_defined_names_lower_case_and_for_broken_code() -> None:
    assert cells.defined_names("def f(x):\n    return x\nclass Sampling: pass\nANSWER_Q1 = 'B'") == {
        "f", "sampling", "answer_q1"}  # fmt: skip
    assert cells.definitions("def broken(:\n    pass\nY = 3") == []
    assert cells.defined_names("def broken(:\n    pass\nY = 3\nif Y == 3: pass") == {"broken", "y"}
    assert cells.defined_names("print(1)") == set()
