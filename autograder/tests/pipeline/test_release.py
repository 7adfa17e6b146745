"""Releases: committed notebooks/ match nbgrader's output; nothing secret leaks into them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.nb.cells import is_solution
from autograder.pipeline.release import generate, release_differences

COURSE = Course.default()
ASSIGNMENTS = COURSE.assignments()
SECRET_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME")


def _split_lines(source_nb) -> tuple[list[str], set[str]]:
    """(secret lines: between solution/hidden-test markers and specific enough to check,
    public lines: everything outside the markers, visible tests included)."""
    secret: list[str] = []
    public: set[str] = set()
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if re.match(r"\s*### BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)", line):
                inside = True
            elif re.match(r"\s*### END (SOLUTION|HIDDEN TESTS|MARK SCHEME)", line):
                inside = False
            elif inside and len(line.strip()) >= 25:
                secret.append(line.strip())
            elif not inside:
                public.add(line.strip())
    return secret, public


def _check_release(source: Path, release: Path) -> None:
    src = nbformat.read(source, as_version=4)
    rel = nbformat.read(release, as_version=4)
    text = "\n".join(c.source for c in rel.cells)
    for marker in SECRET_MARKERS:
        assert marker not in text, f"{release}: {marker} left in the release"
    secret, public = _split_lines(src)
    release_lines = {line.strip() for line in text.splitlines()}
    leaked = [line for line in secret if line in release_lines and line not in public]
    assert not leaked, f"{release}: solution/hidden-test lines in the release: {leaked[:3]}"
    for cell in rel.cells:
        assert cell.cell_type != "code" or not cell.outputs, "outputs left in the release"


@pytest.mark.parametrize("assignment", ASSIGNMENTS or ["none"])
def test_committed_release_is_up_to_date(assignment: str) -> None:
    if assignment == "none":
        pytest.skip("no assignments yet")
    problems = release_differences(COURSE, assignment)
    assert not problems, "\n".join(problems) + "\nrun: python -m autograder release " + assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS or ["none"])
def test_release_carries_no_solutions_or_hidden_tests(assignment: str) -> None:
    if assignment == "none" or not COURSE.release_notebook(assignment).is_file():
        pytest.skip("no release yet")
    _check_release(COURSE.source_notebook(assignment), COURSE.release_notebook(assignment))


def test_toy_release_is_deterministic_and_clean(toy_course: Course, tmp_path: Path) -> None:
    first = generate(toy_course, "toy_vae", tmp_path / "a").read_bytes()
    second = generate(toy_course, "toy_vae", tmp_path / "b").read_bytes()
    assert first == second
    _check_release(toy_course.source_notebook("toy_vae"), tmp_path / "a" / "toy_vae" / "toy_vae.ipynb")
    rel = nbformat.read(tmp_path / "a" / "toy_vae" / "toy_vae.ipynb", as_version=4)
    stubs = [c.source for c in rel.cells if is_solution(c)]
    assert any("raise NotImplementedError" in s for s in stubs) and any("YOUR ANSWER HERE" in s for s in stubs)
    assert not (tmp_path / "a" / "gradebook.db").exists()
