"""The README's Slurm recipe (``autograder/deploy/slurm/``), run for real and checked fast.

The real run: a one-node Slurm cluster on this machine (``benchmarks/slurm_local.py``:
munged, slurmctld and slurmd from Debian's packages, a generated ``slurm.conf``) and
``grade.sh`` exactly as the README shows it, on a few students of the real course's demo:
collect, a job array of 3 shards, the dependent merge/feedback/export job. The gradebook must
hold exactly the unsharded demo's rows for those students, the feedback pages the same
scores. Skipped only where Slurm or MUNGE is not installed (``.ci/run`` installs them); the
whole demo through Slurm is ``make slurm`` (its output is in the autograder README).

The fast checks run the job scripts without a cluster: ``grade.sh`` with stand-in ``sbatch``
and ``python`` commands that record their arguments (what gets submitted, in which order,
with which dependency), ``shard.sbatch`` as a task of the array would run it, and the
generated ``slurm.conf``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import Course
from autograder.pipeline.run import submitted_pairs
from autograder.pipeline.shard import gradebook_rows

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "autograder" / "deploy" / "slurm"
SPEC = importlib.util.spec_from_file_location("slurm_local", REPO / "benchmarks" / "slurm_local.py")
slurm_local = sys.modules.setdefault("slurm_local", importlib.util.module_from_spec(SPEC))
SPEC.loader.exec_module(slurm_local)
#: the demo's students graded through Slurm in CI (kl_theory: the cheapest notebook, and the
#: assignment that carries the damaged cases): two run normally, two damaged, two rejected at collect
STUDENTS = ("Reference", "Blank", "Pack1", "LostMetadata", "EmptyFile", "WrongAssignment")
ASSIGNMENT = "kl_theory"


def _stub(folder: Path, name: str, reply: str = "") -> Path:
    """A command that appends its arguments (one call a line) to ``<name>.calls`` and prints ``reply``."""
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "$@" >> "{folder}/{name}.calls"\nprintf "%s" "{reply}"\n')
    path.chmod(0o755)
    return path


def test_grade_sh_collects_then_submits_the_array_then_the_dependent_job(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "sbatch", "4242\n")
    python = _stub(bin_dir, "python")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHON": str(python),
           "VAECOURSE_COURSE_DIR": str(tmp_path / "course")}  # fmt: skip
    done = subprocess.run([DEPLOY / "grade.sh", "downloads.zip", "16", "--force"], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert (bin_dir / "python.calls").read_text().splitlines() == ["-m autograder collect downloads.zip"]
    array, finish = (bin_dir / "sbatch.calls").read_text().splitlines()
    logs = tmp_path / "course" / "slurm"
    assert array == f"--parsable --array=1-16 --output={logs}/shard-%A_%a.out {DEPLOY}/shard.sbatch"
    assert finish == (f"--parsable --dependency=afterok:4242 --kill-on-invalid-dep=yes "
                      f"--output={logs}/finish-%j.out {DEPLOY}/finish.sbatch --force")  # fmt: skip
    assert "job array 4242 (1-16)" in done.stdout and logs.is_dir()
    failed = subprocess.run([DEPLOY / "grade.sh", "downloads.zip"], env=env, capture_output=True, text=True)
    assert failed.returncode == 2 and "usage:" in failed.stderr


def test_a_task_of_the_array_grades_its_shard(tmp_path: Path) -> None:
    python = _stub(tmp_path, "python")
    env = {**os.environ, "PYTHON": str(python), "SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "16"}
    subprocess.run([DEPLOY / "shard.sbatch"], env=env, check=True, capture_output=True)
    assert (tmp_path / "python.calls").read_text().splitlines() == [
        "-m autograder autograde -j 2 --shard 3/16", "-m autograder feedback --shard 3/16"]
    subprocess.run([DEPLOY / "finish.sbatch", "--force"], env=env, check=True, capture_output=True)
    assert (tmp_path / "python.calls").read_text().splitlines()[2:] == [
        "-m autograder merge-shards", "-m autograder export --force"]
    for script in ("shard.sbatch", "finish.sbatch"):  # 2 cores and 8 GiB per task: 2 workers
        directives = re.findall(r"^#SBATCH (.+)$", (DEPLOY / script).read_text(), re.M)
        assert {"--cpus-per-task=2", "--mem=8G"} <= set(directives)


def test_slurm_conf_is_one_local_node_without_cgroups(tmp_path: Path) -> None:
    conf = slurm_local.slurm_conf(tmp_path, (6817, 6818), 2, 20000)
    settings = dict(line.split("=", 1) for line in conf.splitlines() if line and not line.startswith(("#", "Node", "Part")))
    assert settings["SlurmctldHost"] == "localhost" and settings["SlurmctldPort"] == "6817"
    assert settings["ProctrackType"] == "proctrack/linuxproc" and settings["TaskPlugin"] == "task/none"
    assert not [line for line in conf.splitlines() if "cgroup" in line and not line.startswith("#")]
    for key in ("StateSaveLocation", "SlurmdSpoolDir", "SlurmctldLogFile", "SlurmdLogFile", "SlurmctldPidFile"):
        assert settings[key].startswith(str(tmp_path)), key
    assert "NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=20000" in conf


@pytest.fixture(scope="module")
def cluster():
    why = slurm_local.missing()
    if why:
        pytest.skip(why)
    with slurm_local.slurm_cluster() as running:
        yield running


def test_the_readme_recipe_on_slurm_equals_the_unsharded_run(real_demo, cluster, tmp_path: Path) -> None:
    ids = {s.student_id for s in real_demo.students if s.label in STUDENTS}
    assert len(ids) == len(STUDENTS)
    downloads = slurm_local.subset_downloads(real_demo.work.work / "downloads.zip", tmp_path / "downloads.zip",
                                             ids, {ASSIGNMENT})  # fmt: skip
    work = tmp_path / "class"
    run = slurm_local.run_recipe(cluster, downloads, 3, work, ("--force",), timeout=1200)
    assert run.ok, f"{run.describe()}\n{run.output}\n{cluster.logs()}"
    assert len(run.shards) == 3
    ours = Course.default().with_work(work)
    pairs = set(submitted_pairs(ours, [ASSIGNMENT]))
    assert len(pairs) == 4  # 2, 1 and 1 students a shard
    rejected = {(ASSIGNMENT, s) for s in ids} - pairs
    expected = slurm_local.restrict(gradebook_rows(real_demo.work.db_url, real_demo.work.course_id),
                                    ids, pairs | rejected)  # fmt: skip
    assert sum(r[0] == "grade" for r in expected) > 30
    assert gradebook_rows(ours.db_url, ours.course_id) == expected
    theirs = slurm_local.feedback_scores(real_demo.work.feedback)
    mine = slurm_local.feedback_scores(ours.feedback)
    assert set(mine) == {f"{s}/{a}/{a}.html" for a, s in pairs}
    assert mine == {k: v for k, v in theirs.items() if k in mine}
    assert (work / "reports" / "grades-canvas.csv").is_file()
