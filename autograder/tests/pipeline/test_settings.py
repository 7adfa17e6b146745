"""The course's nbgrader settings: one source for plain nbgrader and ``python -m autograder``,
the kernels' settings handed to the sandbox, one way to get the API and generate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from autograder.course import REPO, Course
from autograder.pipeline import settings
from autograder.pipeline.settings import generate_assignment, nbgrader_api, nbgrader_config
from autograder.sandbox.execute import GuardedExecute


def test_config_file_matches_the_cli_settings() -> None:
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "autograder")).load_config()
    ours = nbgrader_config(Course.default())
    for section, key in (("CourseDirectory", "source_directory"), ("CourseDirectory", "release_directory"),
                         ("CourseDirectory", "db_url"), ("OverwriteCells", "add_missing_cells"),
                         ("GuardedExecute", "timeout"), ("SandboxKernelManager", "kernel_env"),
                         ("SandboxKernelManager", "extra_reads")):  # fmt: skip
        assert loaded[section][key] == ours[section][key]
    assert loaded.CourseDirectory.source_directory == str(REPO / "solutions")
    assert loaded.CourseDirectory.release_directory == str(REPO / "notebooks")
    assert GuardedExecute in loaded.Autograde.autograde_preprocessors
    assert loaded.OverwriteCells.add_missing_cells is True


def test_course_data_stays_out_of_git() -> None:
    course = Course.default()
    ignored = (REPO / ".gitignore").read_text()
    assert "/autograder/course/" in ignored
    assert course.db_path.is_relative_to(REPO / "autograder" / "course") or not course.db_path.is_relative_to(REPO)
    assert Path(nbgrader_config(course).CourseDirectory.db_url.split("///", 1)[1].split("?")[0]) == course.db_path


def test_folders_nbgrader_cannot_match_are_refused_clearly(tmp_path: Path) -> None:
    """nbgrader builds unescaped regexps from the folders: a '+' would lose every submission."""

    course = Course.default().with_work(tmp_path / "grading-a+b")
    with pytest.raises(ValueError, match=r"contains \+.*VAECOURSE_COURSE_DIR"):
        nbgrader_config(course)
    assert not (tmp_path / "grading-a+b").exists()  # refused before anything was written
    nbgrader_config(Course.default().with_work(tmp_path / "grading-a.b_c d"))  # these are fine


def test_kernels_get_the_grading_profile_the_helpers_and_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    import vaecourse

    monkeypatch.setenv("VAECOURSE_DATA", "/srv/course-data")
    monkeypatch.setenv("VAECOURSE_CACHE", "/srv/cache")
    config = nbgrader_config(Course.default())
    env, reads = config.SandboxKernelManager.kernel_env, config.SandboxKernelManager.extra_reads
    assert env["VAECOURSE_PROFILE"] == "ci" and env["VAECOURSE_DATA"] == "/srv/course-data"
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2" and env["MPLBACKEND"] == "Agg"
    assert reads == [str(Path(vaecourse.__file__).resolve().parents[1]), "/srv/course-data", "/srv/cache"]
    monkeypatch.delenv("VAECOURSE_DATA")
    monkeypatch.delenv("VAECOURSE_CACHE")
    assert "VAECOURSE_DATA" not in settings.kernel_env()
    assert settings.kernel_reads()[-1] == str(Path.home() / ".cache" / "vaecourse")


def test_grading_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAECOURSE_CELL_TIMEOUT", "7")
    assert nbgrader_config(Course.default()).GuardedExecute.timeout == 7
    monkeypatch.delenv("VAECOURSE_CELL_TIMEOUT")
    assert nbgrader_config(Course.default()).GuardedExecute.timeout == 60


def test_generate_failure_says_what_nbgrader_said(toy_course: Course, tmp_path: Path) -> None:
    course = toy_course.with_work(tmp_path / "work")
    api = nbgrader_api(course, release=tmp_path / "release")
    generate_assignment(api, "toy_quiz")
    assert (tmp_path / "release" / "toy_quiz" / "toy_quiz.ipynb").is_file()
    with pytest.raises(RuntimeError, match="generate_assignment no_such_assignment failed"):
        generate_assignment(api, "no_such_assignment")


def test_kernel_thread_pools_follow_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from autograder.pipeline import grade

    monkeypatch.delenv(settings.KERNEL_THREADS_ENV, raising=False)
    assert "OMP_NUM_THREADS" not in settings.kernel_env()
    monkeypatch.setenv(settings.KERNEL_THREADS_ENV, "1")
    env = settings.kernel_env()
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "1" and env["TF_NUM_INTEROP_THREADS"] == "2"
    assert settings.kernel_threads_env(0) == {}
    monkeypatch.setenv(settings.KERNEL_THREADS_ENV, "auto")
    assert "OMP_NUM_THREADS" not in settings.kernel_env()  # the number comes from autograde
    seen = []
    monkeypatch.setattr(grade, "_add_students", lambda course, students: None)
    monkeypatch.setattr(grade, "_autograde", lambda work, jobs, progress: seen.append(
        os.environ.get(settings.KERNEL_THREADS_ENV)) or [])  # fmt: skip
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    grade.autograde(Course.default(), [("a", "1"), ("a", "2")], jobs=2)
    grade.autograde(Course.default(), [("a", "1")], jobs=2)
    assert seen == ["2", "4"] and os.environ[settings.KERNEL_THREADS_ENV] == "auto"
    monkeypatch.delenv(settings.KERNEL_THREADS_ENV)
    grade.autograde(Course.default(), [("a", "1"), ("a", "2")], jobs=2)
    assert seen[-1] == "2" and settings.KERNEL_THREADS_ENV not in os.environ  # unset: auto
    monkeypatch.setenv(settings.KERNEL_THREADS_ENV, "0")
    grade.autograde(Course.default(), [("a", "1"), ("a", "2")], jobs=2)
    assert seen[-1] == "0" and "OMP_NUM_THREADS" not in settings.kernel_env()  # the frameworks' defaults


def test_each_kernel_gets_its_workers_share_of_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """autograde sets cores / workers (unless set already) and owns its kernels' cgroups for
    the run; plain nbgrader commands (no autograde around them) set no CPU limit."""
    from autograder.pipeline import grade
    from autograder.sandbox import cgroups

    monkeypatch.delenv(settings.KERNEL_CPUS_ENV, raising=False)
    monkeypatch.delenv(cgroups.OWNER_ENV, raising=False)
    assert settings.kernel_cpus() == 0.0 and nbgrader_config(Course.default()).SandboxKernelManager.cpus == 0.0
    seen = []
    monkeypatch.setattr(grade, "_add_students", lambda course, students: None)
    monkeypatch.setattr(grade, "_autograde", lambda work, jobs, progress: seen.append(
        (settings.kernel_cpus(), nbgrader_config(Course.default()).SandboxKernelManager.cpus,
         os.environ[cgroups.OWNER_ENV])) or [])  # fmt: skip
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    grade.autograde(Course.default(), [("a", "1"), ("a", "2"), ("a", "3")], jobs=3)
    grade.autograde(Course.default(), [("a", "1")], jobs=2)
    assert [s[:2] for s in seen] == [(4 / 3, 4 / 3), (4.0, 4.0)]
    assert seen[0][2] == cgroups.owner_tag()  # this process owns the run's cgroups
    assert settings.KERNEL_CPUS_ENV not in os.environ and cgroups.OWNER_ENV not in os.environ
    monkeypatch.setenv(settings.KERNEL_CPUS_ENV, "0")  # no CPU limit, as asked
    grade.autograde(Course.default(), [("a", "1"), ("a", "2")], jobs=2)
    assert seen[-1][0] == 0.0
    monkeypatch.setenv(settings.KERNEL_CPUS_ENV, "lots")
    assert settings.kernel_cpus() == 0.0


def test_nbgraders_metadata_checks_reuse_one_validator_and_still_reject_bad_metadata() -> None:
    """fast_metadata_checks: the same verdicts as nbgrader's own checks, the schema checked once."""
    import jsonschema
    from nbformat.v4 import new_code_cell
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    from autograder.pipeline.settings import _CachedSchemaChecks, fast_metadata_checks

    good = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "t1",
            "schema_version": 3, "task": False}  # fmt: skip
    bad_points = {**good, "points": "two"}
    bad_key = {**good, "grade_id": 7}
    fast_metadata_checks()
    fast_metadata_checks()  # idempotent
    from nbgrader.nbgraderformat import common

    assert isinstance(common.jsonschema, _CachedSchemaChecks)
    for meta, ok in ((good, True), (bad_points, False), (bad_key, False)):
        cell = new_code_cell("x = 1", metadata={"nbgrader": dict(meta)})
        if ok:
            MetadataValidator().validate_cell(cell)
        else:
            with pytest.raises(ValidationError):
                MetadataValidator().validate_cell(cell)
        schema = MetadataValidator().schema
        try:
            jsonschema.validate(meta, schema)
            stock = True
        except jsonschema.ValidationError:
            stock = False
        assert stock == ok
    assert len(common.jsonschema._validators) == 1  # one schema, one validator
