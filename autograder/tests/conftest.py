"""Fixtures: the autograder's small test course (toy_vae, toy_quiz), a gradebook of it, its demo run,
and the demo of the real assignments.

The demo over the test course runs once per session (about 30 notebooks, fast NumPy
kernels, a 5 s cell timeout for the hanging ones); many tests read its results. So does the
real course's demo (every sample of every assignment, minutes): the proofs of
``proofs/test_assignments.py`` and the Slurm run of ``pipeline/test_slurm.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from autograder.course import Course

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "course"
TOY = ["toy_vae", "toy_quiz"]


@pytest.fixture(autouse=True)
def _environment_restored():
    """Undo what a test's in-process command put into ``os.environ`` (``cli.main`` sets
    ``MPLBACKEND=Agg``, grading sets thread counts): later tests, and the nbval kernels of the
    same pytest session, inherit the process environment."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


def make_toy_course(root: Path) -> Course:
    """A copy of the test course under ``root``."""
    for part in ("solutions", "samples"):
        shutil.copytree(FIXTURES / part, root / part, dirs_exist_ok=True)
    return Course(root=root, source=root / "solutions", release=root / "notebooks",
                  work=root / "work", samples=root / "samples")  # fmt: skip


@pytest.fixture(scope="session")
def toy_course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    return make_toy_course(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="module")
def toy_gradebook(toy_course: Course, tmp_path_factory: pytest.TempPathFactory) -> Course:
    """The test course with its own working folder, gradebook and scratch releases."""
    from autograder.pipeline.grade import prepare_gradebook

    course = toy_course.with_work(tmp_path_factory.mktemp("gradebook"))
    prepare_gradebook(course, TOY)
    return course


@pytest.fixture(scope="session")
def toy_demo(toy_course: Course):  # -> DemoResult
    from autograder.proofs.demo import run_demo

    old = os.environ.get("VAECOURSE_CELL_TIMEOUT")
    os.environ["VAECOURSE_CELL_TIMEOUT"] = "5"  # the hang/flood cases wait for it
    try:
        return run_demo(toy_course, TOY, jobs=2, target="toy_vae", toy=True, name="demo")
    finally:
        if old is None:
            os.environ.pop("VAECOURSE_CELL_TIMEOUT", None)
        else:
            os.environ["VAECOURSE_CELL_TIMEOUT"] = old


@pytest.fixture(scope="session")
def real_demo(tmp_path_factory: pytest.TempPathFactory):  # -> DemoResult
    """The real assignments' demo (packed samples, damaged and adversarial cases), graded once."""
    course = Course.default()
    assignments = course.assignments()
    if not assignments:
        pytest.skip("no assignments yet")
    from autograder.proofs.demo import run_demo

    return run_demo(course.with_work(tmp_path_factory.mktemp("course")), assignments, jobs=2, pack=True)
