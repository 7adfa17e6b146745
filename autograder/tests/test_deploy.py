"""The deploy files (``autograder/deploy/``): the README names each, and the Kubernetes
manifests, checked without a cluster (Slurm's job scripts: ``pipeline/test_slurm.py``).

Each manifest is validated against the Kubernetes API's JSON schema (``kubernetes-validate``,
pinned in requirements.txt: the OpenAPI schemas of each Kubernetes release, strict: an unknown
or misspelt field fails) for 1.29, the first release with ``backoffLimitPerIndex``, and the
newest the package knows. Then what the schema cannot say: the Job is Indexed with as many
completions as parallel pods as the N of ``--shard``, pod i runs shard i + 1 (its shell command
run with a stand-in ``python``), and the finish Job runs the commands of Slurm's
``finish.sbatch``. Not run here: ``kubectl apply`` (even ``--dry-run=client`` needs an API
server) and a cluster.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())


def test_the_readme_recipe_is_these_files() -> None:
    """The README's recipes run the shipped files: every file is named there, every named one exists."""
    readme = (DEPLOY.parent / "README.md").read_text()
    named = set(re.findall(r"autograder/deploy/[\w/.-]+\.\w+", readme))
    shipped = {f"autograder/deploy/{p.relative_to(DEPLOY)}" for p in DEPLOY.rglob("*") if p.is_file()}
    assert named == shipped
    assert "autograder/deploy/slurm/grade.sh ~/downloads/class.zip 16" in readme


def _load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / "kubernetes" / name).read_text())


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    kubernetes_validate.validate(yaml.safe_load(path.read_text()), version, strict=True)


def test_the_validation_catches_a_misspelt_field() -> None:
    job = _load("grade-job.yaml")
    job["spec"]["completionsMode"] = job["spec"].pop("completionMode")
    with pytest.raises(kubernetes_validate.ValidationError, match="completionsMode"):
        kubernetes_validate.validate(job, VERSIONS[0], strict=True)


def _run(command: list[str], tmp_path: Path, **env: str) -> list[str]:
    """The container's command in ``sh`` with a stand-in ``python`` that records its arguments."""
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/calls"\n')
    python.chmod(0o755)
    (tmp_path / "calls").unlink(missing_ok=True)
    subprocess.run(command, env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", **env}, check=True)
    return (tmp_path / "calls").read_text().splitlines()


def test_indexed_job_runs_each_shard_once(tmp_path: Path) -> None:
    spec = _load("grade-job.yaml")["spec"]
    assert spec["completionMode"] == "Indexed"
    container = spec["template"]["spec"]["containers"][0]
    n = int(re.search(r"--shard .*/(\d+)$", container["command"][-1])[1])
    assert spec["completions"] == spec["parallelism"] == n
    shards = [_run(container["command"], tmp_path, JOB_COMPLETION_INDEX=str(i)) for i in range(n)]
    assert shards == [[f"-m autograder autograde -j 2 --shard {k}/{n}", f"-m autograder feedback --shard {k}/{n}"]
                      for k in range(1, n + 1)]  # fmt: skip
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "8Gi"}  # 2 workers, 2 GiB a kernel
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_finish_job_runs_the_finish_script_s_commands(tmp_path: Path) -> None:
    container = _load("finish-job.yaml")["spec"]["template"]["spec"]["containers"][0]
    slurm = _run([str(DEPLOY / "slurm" / "finish.sbatch")], tmp_path, PYTHON=str(tmp_path / "python"))
    assert _run(container["command"], tmp_path) == slurm == ["-m autograder merge-shards", "-m autograder export"]
    grade = _load("grade-job.yaml")["spec"]["template"]["spec"]
    assert container["env"] == grade["containers"][0]["env"]
    assert grade["volumes"] == _load("finish-job.yaml")["spec"]["template"]["spec"]["volumes"]
