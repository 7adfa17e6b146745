"""The pre-submission check (vaecourse.submission), run for real in a kernel, cell by cell."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from vaecourse.submission import fingerprint

from autograder.course import CourseConfig
from autograder.pipeline.submission_cell import apply_submission_cell

SETUP = "from vaecourse import checks\nchecks.refresh_snapshot()\nimport numpy as np"
ANSWER = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
TEST = ("assert double(2) == 4\nprint('double passes the visible check')\n"
        "### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS")


def _cell(kind: str, source: str, gid: str | None = None, **meta: object) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if gid:
        cell.metadata["nbgrader"] = {"grade_id": gid, "schema_version": 3, **meta}
    return cell


def _notebook(written: str = "A written answer.", limit: float = 25.0) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell("code", SETUP, "setup", locked=True, grade=False, solution=False),
        _cell("code", ANSWER, "double", solution=True, grade=False, locked=False),
        _cell("code", TEST, "test_double", grade=True, solution=False, locked=True, points=2),
        _cell("code", "y = double(np.arange(3))"),
        _cell("markdown", written, "written_why", solution=True, grade=True, locked=False, points=1),
    ]
    apply_submission_cell(nb, CourseConfig(max_megabytes=limit), "toy_check")
    return nb


def _release(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What students get: solutions replaced by the stub, hidden tests removed."""
    out = copy.deepcopy(nb)
    out.cells[1].source = "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    out.cells[2].source = "assert double(2) == 4\nprint('double passes the visible check')"
    return out


def _run(nb: nbformat.NotebookNode, order: list[int] | None = None, env: dict | None = None,
         tmp: Path | None = None) -> str:  # fmt: skip
    """Run the cells (in ``order``, default top to bottom, the check cell last); its printout."""
    saved = dict(os.environ)
    os.environ.pop("VAECOURSE_MAX_STEPS", None)
    os.environ.update(env or {})
    try:
        client = NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                                resources={"metadata": {"path": str(tmp or Path.cwd())}})  # fmt: skip
        with client.setup_kernel():
            for index in order if order is not None else range(len(nb.cells) - 1):
                if nb.cells[index].cell_type == "code":
                    client.execute_cell(nb.cells[index], index)
            client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")


def test_the_fingerprint_is_the_same_for_the_source_and_the_release() -> None:
    assert fingerprint(TEST) == fingerprint("assert double(2) == 4\n\nprint('double passes the visible check')  \n")
    assert fingerprint(TEST) != fingerprint("assert double(2) == 5\nprint('double passes the visible check')")


def test_a_complete_run_passes(tmp_path: Path) -> None:
    nb = _notebook()
    out = _run(nb, tmp=tmp_path)
    assert "[ok] every code cell ran" in out and "[!]" not in out and "ready to hand in" in out
    assert "1 code answer, checked by 1 test (2 points), and 1 written answer graded by hand (1 point)" in out
    assert "hidden tests also run" in out  # what more runs at grading
    assert "cannot be seen from here" in out and "toy_check.ipynb" in out  # no file to look at in this kernel


def test_a_stub_an_error_and_an_edited_locked_cell_are_named(tmp_path: Path) -> None:
    nb = _release(_notebook())  # the student ran the release without answering
    nb.cells[0].source = SETUP + "\nprint('edited')"  # and edited the locked setup cell
    out = _run(nb, tmp=tmp_path)
    assert "answer(s) still raise NotImplementedError" in out and "'def double(x):'" in out
    assert "raised an error: NotImplementedError" in out
    assert "did not run as released" in out and "setup" in out


def test_cells_out_of_order_or_skipped_are_named(tmp_path: Path) -> None:
    nb = _notebook()
    out = _run(nb, order=[0, 2, 1], tmp=tmp_path)  # the test before the answer; the given cell never
    assert "raised an error: NameError" in out
    out = _run(_notebook(), order=[0, 1, 2], tmp=tmp_path)  # the given cell after the test skipped
    assert "[!]" not in out  # a missing last given cell is not between two locked cells: not claimed
    nb = _notebook()
    nb.cells.insert(4, _cell("code", "print('given, locked')", "given_locked", locked=True, grade=False,
                             solution=False))  # fmt: skip
    apply_submission_cell(nb, CourseConfig(), "toy_check")
    out = _run(nb, order=[0, 1, 2, 4], tmp=tmp_path)  # cell 3 (given) skipped between two locked cells
    assert "1 answer or given cell(s) did not run" in out


def test_without_the_setup_cell_it_asks_for_run_all(tmp_path: Path) -> None:
    out = _run(_notebook(), order=[1, 2], tmp=tmp_path)
    assert "Run all" in out


@pytest.mark.parametrize(("name", "written", "limit", "expected"), [
    ("toy_check.ipynb", "A written answer.", 25.0, "[ok] the notebook file: 'toy_check.ipynb'"),
    ("Untitled.ipynb", "A written answer.", 25.0, "rename it to toy_check.ipynb"),
    ("toy_check.ipynb", "A written answer.", 0.000001, "more than the 1e-06 MB"),
    ("toy_check.ipynb", "YOUR ANSWER HERE", 25.0, "written answer(s) still read 'YOUR ANSWER HERE': written_why"),
])  # fmt: skip
def test_the_saved_file_is_checked(tmp_path: Path, name: str, written: str, limit: float, expected: str) -> None:
    nb = _notebook(written=written, limit=limit)
    path = tmp_path / name
    nbformat.write(nb, path)
    out = _run(nb, env={"JPY_SESSION_NAME": str(path)}, tmp=tmp_path)
    assert expected in out, out


def test_the_grading_run_skips_it(tmp_path: Path) -> None:
    out = _run(_notebook(), env={"VAECOURSE_MAX_STEPS": "1"}, tmp=tmp_path)
    assert out.startswith("Pre-submission check: skipped in the grader's run")
