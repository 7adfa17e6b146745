"""The gradebook: built from the sources, filled by autograde workers, zeroed for rejects, read back."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell
from nbgrader.api import Gradebook

from autograder.course import Course
from autograder.pipeline import grade
from autograder.pipeline.grade import (
    CellScore,
    _add_students,
    autograde,
    prepare_gradebook,
    scores,
    zero_out,
)
from autograder.pipeline.report import score_table
from autograder.proofs.build import (
    SampleCase,
    build_notebook,
    read_spec,
    release_of,
    write_submission,
)
from autograder.sandbox import cgroups, reaper


def test_prepare_builds_scratch_releases_and_is_repeatable(toy_gradebook: Course) -> None:
    release = release_of(toy_gradebook, "toy_vae")
    assert any("raise NotImplementedError" in c.source for c in release.cells)
    assert not (toy_gradebook.release / "toy_vae").exists()  # the committed releases are untouched
    prepare_gradebook(toy_gradebook, ["toy_vae"])  # again: no error, same cells and points
    with Gradebook(toy_gradebook.db_url, toy_gradebook.course_id) as gb:
        cells = {c.name: c.max_score for c in gb.find_assignment("toy_vae").notebooks[0].grade_cells}
    assert cells == {"test_reparameterize": 2, "test_kl_divergence_prior": 1, "test_kl_divergence": 2,
                     "test_answer_q1": 1, "written_trick": 2}  # fmt: skip


def test_unknown_assignment_is_refused(toy_gradebook: Course) -> None:
    with pytest.raises(SystemExit, match="No source notebook"):
        prepare_gradebook(toy_gradebook, ["nope"])


def test_zero_out_gives_zero_on_every_autograded_cell(toy_gradebook: Course) -> None:
    zero_out(toy_gradebook, "toy_vae", "rejected_student", "the file is empty")
    cells = scores(toy_gradebook, "toy_vae")["rejected_student"]
    assert {g: (c.auto_score, c.max_score, c.manual) for g, c in cells.items()} == {
        "test_reparameterize": (0, 2, False), "test_kl_divergence_prior": (0, 1, False),
        "test_kl_divergence": (0, 2, False), "test_answer_q1": (0, 1, False), "written_trick": (0, 2, True),
    }  # fmt: skip
    assert score_table(toy_gradebook, ["toy_vae"])["rejected_student"] == {"toy_vae": (0.0, 6.0)}
    assert scores(toy_gradebook, "unknown") == {}


def test_autograde_scores_and_reports(toy_gradebook: Course) -> None:
    release = release_of(toy_gradebook, "toy_quiz")
    spec = read_spec(toy_gradebook, "toy_quiz")
    for student, answers in (("right", {}), ("wrong", {"answer_prior": 'ANSWER_PRIOR = "A"'})):
        write_submission(toy_gradebook, SampleCase(student, "toy_quiz", "", "", build_notebook(release, spec, answers), {}))
    seen = []
    results = autograde(toy_gradebook, [("toy_quiz", "right"), ("toy_quiz", "wrong")], jobs=1, progress=seen.append)
    assert [r.student for r in seen] == [r.student for r in results] == ["right", "wrong"]
    assert all(r.success and r.error == "" and r.restarts == 0 for r in results)
    assert all(r.seconds > 0 and r.cpu_seconds > 0 and r.kernel_peak_mb > 10 for r in results)
    table = scores(toy_gradebook, "toy_quiz")
    assert table["right"]["test_answer_prior"] == CellScore("test_answer_prior", 1.0, 1.0, False)
    assert table["wrong"]["test_answer_prior"].auto_score == 0


def test_two_workers_grade_one_students_two_assignments_at_once(toy_gradebook: Course) -> None:
    """The pool's workers (forked from the forkserver) grade one student's two notebooks side
    by side; the student is in the gradebook before they start (both would add it otherwise,
    and one would fail on the UNIQUE constraint)."""
    for assignment in ("toy_quiz", "toy_vae"):
        release, spec = release_of(toy_gradebook, assignment), read_spec(toy_gradebook, assignment)
        write_submission(toy_gradebook, SampleCase("both", assignment, "", "", build_notebook(release, spec, {}), {}))
    results = autograde(toy_gradebook, [("toy_quiz", "both"), ("toy_vae", "both")], jobs=2)
    assert sorted((r.assignment, r.success, r.error) for r in results) == [("toy_quiz", True, ""), ("toy_vae", True, "")]
    assert all(r.cpu_seconds > 0 and r.cells for r in results)
    for assignment in ("toy_quiz", "toy_vae"):
        cells = scores(toy_gradebook, assignment)["both"].values()
        assert all(c.auto_score == c.max_score for c in cells if not c.manual)
    _add_students(toy_gradebook, {"both", "another"})  # again, and a new one: no error
    with Gradebook(toy_gradebook.db_url, toy_gradebook.course_id) as gb:
        ids = [s.id for s in gb.students]
    assert ids.count("both") == 1 and "another" in ids


SPINNERS = """\
import os, signal, time
for _ in range(6):
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            pass
time.sleep({seconds})
"""
IDLE = "import time\ntime.sleep({seconds})\n"
#: an honest student's grading time next to a fork storm, at most this many times their time
#: next to an idle neighbour (measured on 2 cores loaded by other work: 1.45, see the autograder README)
STORM_FACTOR = 2.0


def _neighbour(release, code: str):
    nb = copy.deepcopy(release)
    nb.cells.insert(1 + next(i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get(
        "grade_id") == "setup"), new_code_cell(code))  # fmt: skip
    return nb


def _round(course: Course, label: str, code: str) -> tuple[list, object]:
    release, spec = release_of(course, "toy_vae"), read_spec(course, "toy_vae")
    write_submission(course, SampleCase(f"{label}_neighbour", "toy_vae", "", "", _neighbour(release, code), {}))
    honest = [f"{label}_honest{k}" for k in range(3)]
    for student in honest:
        write_submission(course, SampleCase(student, "toy_vae", "", "", build_notebook(release, spec, {}), {}))
    results = autograde(course, [("toy_vae", f"{label}_neighbour"), *(("toy_vae", s) for s in honest)], jobs=2)
    mine = [r for r in results if r.student in honest]
    return mine, next(r for r in results if r.student == f"{label}_neighbour")


def test_an_honest_student_next_to_a_fork_storm_keeps_full_marks_and_time(toy_gradebook: Course) -> None:
    """Two workers: one grades a notebook whose six busy children (sessions of their own,
    SIGTERM ignored) run while the other grades three honest students, then the same next to a
    neighbour that only sleeps. The honest students keep full marks, and their time stays
    within :data:`STORM_FACTOR` of the idle round's: the storm's kernel gets its worker's share
    of the CPU (cores / workers), never more, and none of its processes is left."""
    idle, _ = _round(toy_gradebook, "idle", IDLE.format(seconds=10))
    storm, neighbour = _round(toy_gradebook, "storm", SPINNERS.format(seconds=10))
    table = scores(toy_gradebook, "toy_vae")
    for r in idle + storm:
        assert r.success and sum(c.auto_score for c in table[r.student].values() if not c.manual) == 6, r
    ratio = sum(r.seconds for r in storm) / sum(r.seconds for r in idle)
    print(f"honest students next to a fork storm: {ratio:.2f}x their time next to an idle neighbour")
    (kernel,) = neighbour.kernels
    assert kernel["killed"] >= 6 and not os.path.exists(kernel["state"])
    if not kernel.get("cpus"):
        pytest.skip("no CPU quota here (no cpu cgroup): only the sweep and the task bound hold")
    assert kernel["cpus"] == (os.cpu_count() or 1) / 2
    assert kernel["cpu_seconds"] <= kernel["cpus"] * kernel["seconds"] * 1.1 + 0.2, kernel  # its share, at most
    assert ratio < STORM_FACTOR, (ratio, [r.seconds for r in idle], [r.seconds for r in storm])


def test_a_run_removes_what_its_dead_workers_left(toy_gradebook: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed with SIGKILL cannot remove its kernel's cgroup: the run does at its end,
    and kills what is still in it."""
    if cgroups.KernelGroup.create() is None:
        pytest.skip("this process may not create cgroups")
    left: list = []

    def dead_worker(work, jobs, progress):
        group = cgroups.KernelGroup.create(owner=os.environ[cgroups.OWNER_ENV])
        sleeper = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(cgroups.__file__).parent)!r});"
                                    f" import cgroups, time; cgroups.join({group.paths!r}); time.sleep(60)"])  # fmt: skip
        while not group.procs():
            time.sleep(0.01)
        left.append((group, sleeper))
        return []

    monkeypatch.setattr(grade, "_autograde", dead_worker)
    autograde(toy_gradebook, [("toy_vae", "nobody")], jobs=1)
    group, sleeper = left[0]
    assert not group.exists() and sleeper.wait(timeout=10) == -9
    assert reaper.read_proc(sleeper.pid) is None
