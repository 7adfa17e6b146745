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


def process_snapshot() -> set[tuple[int, int]]:
    """Every process of the machine now, as (pid, start time)."""
    from autograder.sandbox import reaper

    return {(p.pid, p.start) for p in reaper.processes().values()}


def run_processes(results, before: set[tuple[int, int]]) -> list[str]:
    """Processes of a grading run still alive: those in one of its kernels' cgroups, those whose
    command line names one of its kernels' folders or zygotes (a process forked from a kernel
    keeps the kernel's command line), and this process's descendants that were not there
    ``before`` (the multiprocessing forkserver and resource tracker, kept for later pools, aside)."""
    from autograder.sandbox import reaper

    kernels = [k for r in results for k in r.kernels]
    groups = {k["cgroup"] for k in kernels if k.get("cgroup")}
    marks = {k["state"] for k in kernels if k.get("state")}
    marks |= {str(Path(k["zygote"]).parent) for k in kernels if k.get("zygote")}
    table = reaper.processes()
    mine = {p.pid for p in reaper.descendants(os.getpid(), table=table)}
    found = []
    for p in table.values():
        if p.state in "ZX":
            continue
        try:
            cmdline = Path(f"/proc/{p.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cgroup = Path(f"/proc/{p.pid}/cgroup").read_text()
        except OSError:
            continue
        new_child = p.pid in mine and (p.pid, p.start) not in before and "from multiprocessing." not in cmdline
        if new_child or any(m in cmdline for m in marks) or any(g in cgroup for g in groups):
            found.append(f"{p.pid} ({p.state}, parent {p.ppid}): {cmdline[:160]}")
    return found


@pytest.fixture(scope="session")
def toy_demo(toy_course: Course):  # -> DemoResult
    from autograder.proofs.demo import run_demo

    old = os.environ.get("VAECOURSE_CELL_TIMEOUT")
    os.environ["VAECOURSE_CELL_TIMEOUT"] = "5"  # the hang/flood cases wait for it
    before = process_snapshot()
    try:
        demo = run_demo(toy_course, TOY, jobs=2, target="toy_vae", toy=True, name="demo")
        demo.processes_before = before
        return demo
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

    before = process_snapshot()
    result = run_demo(course.with_work(tmp_path_factory.mktemp("course")), assignments, jobs=2, pack=True)
    result.processes_before = before  # what ran before: the run must leave nothing else behind
    return result
