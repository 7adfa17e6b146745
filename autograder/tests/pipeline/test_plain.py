"""Plain nbgrader commands keep the course's protections (pipeline/plain.py, nbgrader_config.py)."""

from __future__ import annotations

import os
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

    from autograder.pipeline.grade import scores

    table = scores(course, "kl_theory")
    honest = {g: c.auto_score for g, c in table["23456"].items() if not c.manual}
    assert honest == spec.tests  # repaired, the latest attempt, full marks
    cheated = spec.tests_owned_by(CHEAT)
    for gid, cell in table["12345"].items():
        if not cell.manual:
            assert cell.auto_score == (0 if gid in cheated else spec.tests[gid]), (gid, cell.auto_score)
