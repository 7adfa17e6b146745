"""Plain nbgrader commands keep the course's protections (pipeline/plain.py, nbgrader_config.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import COURSE_DIR_ENV, Course
from autograder.pipeline.plain import command_of
from autograder.proofs.build import build_notebook, read_spec, release_of

COURSE = Course.default()
HERE = COURSE.root / "autograder"

CHEAT = {  # kl_theory's KL fill-ins answered by the package's TensorFlow versions
    "kl_gaussians_logvar": "def kl_gaussians_logvar(mu1, logvar1, mu2, logvar2):\n"
                           "    from vaecourse.tf.losses import kl_gaussians\n"
                           "    return kl_gaussians(mu1, logvar1, mu2, logvar2).numpy()\n",
    "kl_to_standard_normal": "def kl_to_standard_normal(mu, logvar):\n"
                             "    from vaecourse.tf.losses import kl_to_standard_normal as kl\n"
                             "    return kl(mu, logvar).numpy()\n",
}  # fmt: skip


def test_the_command_line_is_read() -> None:
    assert command_of(["nbgrader", "autograde", "mnist_vae", "--student=1"]) == ("autograde", "mnist_vae")
    assert command_of(["nbgrader", "autograde", "--assignment=kl_theory"]) == ("autograde", "kl_theory")
    assert command_of(["nbgrader", "--debug", "autograde", "--student", "7", "cifar10_vae"]) == ("autograde",
                                                                                                "cifar10_vae")
    assert command_of(["nbgrader", "zip_collect", "mmd_vae", "--force"]) == ("zip_collect", "mmd_vae")
    assert command_of(["nbgrader"]) == (None, None)


def _nbgrader(args: list[str], work: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, COURSE_DIR_ENV: str(work), "PYTHONPATH": str(COURSE.root)}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=HERE, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip


def test_plain_autograde_refuses_what_it_cannot_make_safe(tmp_path: Path) -> None:
    for args, words in ((["autograde"], "needs one assignment"), (["autograde", "no_such"], "not an assignment")):
        result = _nbgrader(args, tmp_path / "work")
        assert result.returncode != 0, result.stdout
        assert words in result.stderr + result.stdout
    assert "python -m autograder autograde" in _nbgrader(["autograde"], tmp_path / "w").stderr


@pytest.mark.skipif(not os.environ.get("VAECOURSE_DATA"), reason="grading needs VAECOURSE_DATA (set by make test)")
def test_plain_zip_collect_and_autograde_grade_like_ours(tmp_path: Path) -> None:
    """Course-site downloads through plain ``nbgrader zip_collect`` and ``nbgrader autograde``: the
    file names are read with course.toml's pattern, a damaged notebook is repaired, and answers
    that import the package's versions earn nothing (the student build of the assignment)."""
    from autograder.pipeline.grade import prepare_gradebook

    work = tmp_path / "work"
    course = COURSE.with_work(work)
    prepare_gradebook(course, ["kl_theory"])
    spec, release = read_spec(course, "kl_theory"), release_of(course, "kl_theory")
    archive = work / "downloaded" / "kl_theory" / "archive"
    archive.mkdir(parents=True)
    nbformat.write(build_notebook(release, spec, CHEAT), archive / "cheat_12345_1_kl_theory.ipynb")
    honest = build_notebook(release, spec, {})
    for cell in honest.cells:  # re-saved by another editor: every nbgrader mark lost
        cell.metadata.pop("nbgrader", None)
    nbformat.write(honest, archive / "honest_23456_2_Copy of kl_theory.ipynb")
    nbformat.write(build_notebook(release, spec, None), archive / "honest_23456_1_kl_theory.ipynb")  # older

    collected = _nbgrader(["zip_collect", "kl_theory", "--force"], work)
    assert collected.returncode == 0, collected.stderr[-3000:]
    assert sorted(p.name for p in (work / "submitted").iterdir()) == ["12345", "23456"]
    graded = _nbgrader(["autograde", "kl_theory", "--create", "--force"], work)
    assert graded.returncode == 0, graded.stderr[-3000:]
    assert "repaired" in graded.stderr  # the damaged one, rebuilt on the release

    with sqlite3.connect(work / "gradebook.db") as db:
        rows = db.execute(
            "SELECT student.id, grade_cell.name, grade.auto_score, grade_cell.max_score FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id "
            "JOIN grade_cell ON grade.cell_id = grade_cell.id WHERE grade_cell.cell_type = 'code'").fetchall()
    scores = {(s, g): (a, m) for s, g, a, m in rows}
    honest_total = sum(a or 0 for (s, _), (a, _) in scores.items() if s == "23456")
    assert honest_total == spec.total  # repaired, the latest attempt, full marks
    for gid, (auto, _) in {g: v for (s, g), v in scores.items() if s == "12345"}.items():
        cheated = any(g in spec.owned.get(f, ()) for f in CHEAT for g in [gid])
        assert (auto == 0) if cheated else (auto == spec.tests[gid]), (gid, auto)
