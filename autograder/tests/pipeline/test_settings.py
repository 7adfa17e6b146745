"""nbgrader_config.py (for plain nbgrader commands) carries the course's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from autograder.course import REPO, Course
from autograder.pipeline.settings import nbgrader_config
from autograder.sandbox.execute import GuardedExecute


def test_config_file_matches_the_cli_settings() -> None:
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "autograder")).load_config()
    ours = nbgrader_config(Course.default())
    for section, key in (("CourseDirectory", "source_directory"), ("CourseDirectory", "release_directory"),
                         ("CourseDirectory", "db_url"), ("OverwriteCells", "add_missing_cells"),
                         ("GuardedExecute", "timeout")):  # fmt: skip
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
