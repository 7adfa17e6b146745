"""The student copy of the helpers package: fill-ins stripped, still importable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.pipeline.student_build import BEGIN, build_student_helpers, strip_fill_ins

REPO = Path(__file__).resolve().parents[3]

SOURCE = '''\
def kl(mu, logvar):
    """KL to N(0, 1)."""
    # BEGIN FILL-IN kl
    inner = 1 + logvar - mu**2
    return -0.5 * inner
    # END FILL-IN kl


class Decoder:
    def __init__(self):
        # BEGIN FILL-IN Decoder
        self.layers = [1, 2]
        # END FILL-IN Decoder
'''


def test_strip_replaces_bodies_keeps_signatures() -> None:
    out, names = strip_fill_ins(SOURCE)
    assert names == ["kl", "Decoder"]
    assert "inner = 1" not in out and "self.layers" not in out
    assert "def kl(mu, logvar):" in out and '"""KL to N(0, 1)."""' in out
    namespace: dict = {}
    exec(compile(out, "x.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="kl"):
        namespace["kl"](0, 0)
    with pytest.raises(NotImplementedError, match="Decoder"):
        namespace["Decoder"]()


def test_keep_leaves_a_fill_in() -> None:
    out, names = strip_fill_ins(SOURCE, keep={"kl"})
    assert names == ["Decoder"] and "inner = 1" in out


@pytest.mark.parametrize(
    "bad",
    [
        "def f():\n    # BEGIN FILL-IN a\n    pass\n",
        "def f():\n    # BEGIN FILL-IN a\n    # BEGIN FILL-IN b\n",
        "def f():\n    # BEGIN FILL-IN a\n    pass\n    # END FILL-IN b\n",
        "# BEGIN FILL-IN top\nx = 1\n# END FILL-IN top\n",
    ],
)
def test_bad_markers_are_errors(bad: str) -> None:
    with pytest.raises(ValueError):
        strip_fill_ins(bad)


def test_student_helpers_build_imports_and_hides_answers(tmp_path: Path) -> None:
    out, names = build_student_helpers(REPO / "helpers", tmp_path / "helpers")
    assert (out / "pyproject.toml").is_file()
    def markers(root: Path) -> list[str]:
        return [line for p in root.rglob("*.py") for line in p.read_text().splitlines() if BEGIN.match(line)]

    assert markers(out / "src") == []
    assert len(names) == len(markers(REPO / "helpers" / "src"))
    code = "import pkgutil, importlib, vaecourse\n" \
           "mods = [m.name for m in pkgutil.walk_packages(vaecourse.__path__, 'vaecourse.')]\n" \
           "[importlib.import_module(m) for m in mods]\nprint(len(mods))"
    env = {**os.environ, "PYTHONPATH": str(out / "src"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    found = subprocess.run([sys.executable, "-c", "import vaecourse; print(vaecourse.__file__)"], env=env,
                           capture_output=True, text=True, cwd=tmp_path).stdout  # fmt: skip
    assert str(out) in found


def test_every_fill_in_belongs_to_one_assignment_and_builds_strip_later_ones(tmp_path: Path) -> None:
    from traitlets.config import Config

    from autograder.course import Course
    from autograder.pipeline.settings import apply_settings
    from autograder.pipeline.student_build import (
        block_assignments,
        build_for,
        fill_in_api,
        fill_in_owners,
        grading_build,
        past_due,
        prepare_grading_builds,
        stripped_for,
    )

    course = Course.default().with_work(tmp_path / "work")
    owners = fill_in_owners(course)
    assert owners["compute_loss"] == "mnist_vae" and owners["bits_per_dim"] == "cifar10_vae"
    assert owners["mmd"] == "mmd_vae" and owners["celeba_vae/Decoder"] == "celeba_vae"
    assert owners["kl_gaussians_logvar"] == "kl_theory"
    # grading cifar10_vae: MNIST's answers are the students' (kept), CIFAR-10's and later ones stripped
    strip = stripped_for(course, "cifar10_vae")
    assert "bits_per_dim" in strip and "mmd" in strip and "compute_loss" not in strip
    assert stripped_for(course, None) == set(block_assignments(course)) >= set(owners)
    # an answer block is stripped while any assignment it answers is open
    assert block_assignments(course)["kl_theory/kl_to_standard_normal"] == {"kl_theory", "mnist_vae"}
    assert "kl_theory/kl_to_standard_normal" in stripped_for(course, "celeba_vae")
    assert {"compute_loss", "Sampling", "train_step"} <= fill_in_api(course, "mnist_vae")
    assert fill_in_api(course, "cifar10_vae") == {"bits_per_dim", "gaussian_likelihood"}  # an answer block of it
    # due dates: nothing is past due before the first one, everything after the last
    from datetime import datetime, timedelta

    first, last = min(course.config.due.values()), max(course.config.due.values())
    assert past_due(course, first - timedelta(minutes=1)) == []
    assert past_due(course, last + timedelta(minutes=1)) == course.assignments()
    assert past_due(course, first) == [course.assignments()[0]]
    assert isinstance(first, datetime)

    paths = prepare_grading_builds(course, ["cifar10_vae"])
    src = paths["cifar10_vae"]
    assert src == grading_build(course, "cifar10_vae") / "src"
    metrics = (src / "vaecourse" / "tf" / "metrics.py").read_text()
    losses = (src / "vaecourse" / "tf" / "losses.py").read_text()
    assert 'raise NotImplementedError("bits_per_dim' in metrics and 'NotImplementedError("compute_loss' not in losses
    assert 'NotImplementedError("kl_to_standard_normal' in losses  # the theory notebook's, still open
    code = ("import importlib.metadata, vaecourse; from vaecourse.tf import metrics\n"
            "print(vaecourse.__file__); print(importlib.metadata.version('vaecourse'))\n"
            "try:\n    metrics.bits_per_dim(1.0, (2, 2, 3))\nexcept NotImplementedError:\n    print('stripped')\n")
    env = {**os.environ, "PYTHONPATH": str(src), "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=tmp_path, timeout=600).stdout.split()  # fmt: skip
    import vaecourse

    assert out == [str(src / "vaecourse" / "__init__.py"), vaecourse.__version__, "stripped"]
    # the grading kernels of that assignment import this build; without an assignment, the installed one
    c = apply_settings(Config(), course, assignment="cifar10_vae")
    assert c.SandboxKernelManager.kernel_env["PYTHONPATH"] == str(src)
    assert str(src) in c.SandboxKernelManager.extra_reads
    assert "PYTHONPATH" not in apply_settings(Config(), course).SandboxKernelManager.kernel_env
    assert build_for(course, tmp_path / "all", set())[1] == []  # nothing stripped: the full package
