"""What an instructor's source notebook says about grading: fill-ins, tests, points, ownership.

:class:`AssignmentSpec` is read from the source notebook (``solutions/<a>/<a>.ipynb``):

* ``solutions``: every cell the student fills in, by grade id (code and written answers);
* ``tests``: the autograded test cells and their points;
* ``manual``: the cells graded by hand (written answers, graded solution cells);
* ``owned``: which tests belong to which code fill-in (:func:`owned_tests`).

The ownership rule: a test belongs to the nearest code fill-in above it. Only code solution
cells open a group, because only code can be tested; a written answer (a markdown solution
cell) owns no test and does not interrupt the group it sits in. Tests above the first code
fill-in belong to none. The course's convention (CONTRIBUTING.md) that each test targets
one fill-in and needs no other fill-in to be right makes this exact: a sample that answers
a fill-in can only lose the points of the tests that fill-in owns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .cells import (
    grade_id,
    is_code_fill_in,
    is_solution,
    is_test_cell,
    nbgrader_meta,
    strip_markers,
)


def owned_tests(cells: list[NotebookNode]) -> dict[str, frozenset[str]]:
    """Code fill-in grade id -> the test cells between it and the next code fill-in."""
    owned: dict[str, set[str]] = {}
    current: str | None = None
    for cell in cells:
        gid = grade_id(cell)
        if gid and is_code_fill_in(cell):
            current = gid
            owned.setdefault(gid, set())
        elif gid and current is not None and is_test_cell(cell):
            owned[current].add(gid)
    return {gid: frozenset(tests) for gid, tests in owned.items()}


@dataclass
class AssignmentSpec:
    """What the source notebook says about grading (see the module docstring)."""

    name: str
    solutions: dict[str, NotebookNode]  # grade_id -> source cell (code or markdown)
    tests: dict[str, float]  # autograded grade cells: grade_id -> points
    manual: dict[str, float]  # manually graded cells: grade_id -> points
    owned: dict[str, frozenset[str]] = field(default_factory=dict)  # code fill-in -> its tests

    @classmethod
    def from_notebook(cls, nb: NotebookNode, name: str) -> AssignmentSpec:
        """The spec of a source notebook already read."""
        solutions, tests, manual = {}, {}, {}
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            gid = meta.get("grade_id")
            if not gid:
                continue
            if is_solution(cell):
                solutions[gid] = cell
            if meta.get("grade"):
                points = float(meta.get("points", 0))
                if is_test_cell(cell):
                    tests[gid] = points
                else:
                    manual[gid] = points
        return cls(name, solutions, tests, manual, owned_tests(nb.cells))

    @classmethod
    def read(cls, source_notebook: Path) -> AssignmentSpec:
        """The spec of ``solutions/<a>/<a>.ipynb`` (the assignment is the file's stem)."""
        path = Path(source_notebook)
        return cls.from_notebook(nbformat.read(path, as_version=4), path.stem)

    @property
    def total(self) -> float:
        """All autograded points."""
        return sum(self.tests.values())

    def reference_source(self, grade_id: str) -> str:
        """The reference answer of a fill-in, without the solution markers."""
        return strip_markers(self.solutions[grade_id].source)

    def is_code(self, grade_id: str) -> bool:
        """Whether a fill-in is a code cell (not a written answer)."""
        return self.solutions[grade_id].cell_type == "code"

    def tests_owned_by(self, fill_ins: Iterable[str]) -> frozenset[str]:
        """The tests that belong to any of ``fill_ins`` (grade ids; written answers own none)."""
        return frozenset().union(*[self.owned.get(g, frozenset()) for g in fill_ins])

    def expected(self, fails: frozenset[str] | set[str]) -> dict[str, float]:
        """Expected autograded score per test cell when exactly ``fails`` lose their points."""
        return {gid: (0.0 if gid in fails else pts) for gid, pts in self.tests.items()}
