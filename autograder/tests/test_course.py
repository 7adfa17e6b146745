"""Where the course's files live: assignments in course order, a clear refusal, a movable work folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course import ASSIGNMENTS, REPO, Course, cell_timeout


def test_default_course_is_the_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VAECOURSE_COURSE_DIR", raising=False)
    course = Course.default()
    assert course.source == REPO / "solutions" and course.work == REPO / "autograder" / "course"
    assert course.assignments() == list(ASSIGNMENTS)  # course order, not alphabetical
    monkeypatch.setenv("VAECOURSE_COURSE_DIR", str(tmp_path / "term"))
    assert Course.default().work == tmp_path / "term"
    assert Course.default().db_url == f"sqlite:///{tmp_path / 'term' / 'gradebook.db'}?timeout=120"


def test_unknown_assignments_come_last_and_missing_ones_are_refused(tmp_path: Path) -> None:
    for name in ("zeta_extra", "kl_theory", "alpha_extra", "mnist_vae"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.ipynb").write_text("{}")
    (tmp_path / "no_notebook").mkdir()
    course = Course(root=tmp_path, source=tmp_path, release=tmp_path, work=tmp_path / "w", samples=tmp_path)
    assert course.assignments() == ["mnist_vae", "kl_theory", "alpha_extra", "zeta_extra"]
    with pytest.raises(SystemExit, match="no_notebook.*assignments with a source: mnist_vae, kl_theory"):
        course.require("no_notebook")
    moved = course.with_work(tmp_path / "elsewhere")
    assert moved.submitted == tmp_path / "elsewhere" / "submitted" and moved.source == course.source
    assert moved.grading_release_notebook("kl_theory") == tmp_path / "elsewhere" / "release" / "kl_theory" / "kl_theory.ipynb"


def test_cell_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAECOURSE_CELL_TIMEOUT", raising=False)
    assert cell_timeout() == 60
    monkeypatch.setenv("VAECOURSE_CELL_TIMEOUT", " 5 ")
    assert cell_timeout() == 5


# ---- course.toml ------------------------------------------------------------------------
def test_the_repository_course_toml_names_every_assignment_with_a_due_date():
    from autograder.course import ASSIGNMENTS, CourseConfig, course_toml

    config = CourseConfig.load(course_toml())
    assert config.assignments == ASSIGNMENTS
    assert all(d is not None and d.tzinfo is not None for d in config.due.values())
    dues = list(config.due.values())
    assert dues == sorted(dues), "assignments are due in course order"
    assert config.pip_url.startswith("vaecourse @ git+https://")
    assert f"@{config.ref}#subdirectory=helpers" in config.pip_url


def _toml(tmp_path, text):
    path = tmp_path / "course.toml"
    path.write_text(text)
    return path


def test_course_toml_is_read_and_the_regexp_matches_course_site_names(tmp_path):
    import re

    from autograder.course import CourseConfig

    config = CourseConfig.load(_toml(tmp_path, '''
[course]
id = "vae-2027"
[student_package]
repository = "https://github.com/someone/fork/"
ref = "t1"
[late]
policy = "per_day"
percent_per_day = 5
[[assignments]]
id = "kl_theory"
due = 2027-01-10T12:00:00Z
'''))
    assert config.course_id == "vae-2027"
    assert config.assignments == ("kl_theory",)
    assert config.late.policy == "per_day" and config.late.percent_per_day == 5
    assert config.pip_url == "vaecourse @ git+https://github.com/someone/fork.git@t1#subdirectory=helpers"
    m = re.match(config.named_regexp, "Doe_LATE_12345_2_mnist_vae.ipynb")
    assert m and m["student_id"] == "12345" and m["late"] and m["attempt"] == "2"
    m = re.match(config.named_regexp, "Doe_12345_1_mnist_vae.ipynb")
    assert m and m["student_id"] == "12345" and not m["late"]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[submissions]\nnamed_regexp = "^(?P<file_id>.+)$"\n', "student_id"),
        ('[submissions]\nnamed_regexp = "^(?P<student_id>[a-z"\n', "does not compile"),
        ('[late]\npolicy = "half"\n', "policy must be one of"),
        ('[[assignments]]\nid = "mnist_vae"\ndue = 2026-09-21T23:59:00\n', "UTC offset"),
        ('[[assignments]]\ndue = 2026-09-21T23:59:00Z\n', "has no id"),
        ("[course\n", "not valid TOML"),
    ],
)
def test_a_wrong_course_toml_says_what_is_wrong(tmp_path, text, message):
    from autograder.course import CourseConfig, CourseConfigError

    with pytest.raises(CourseConfigError, match=message):
        CourseConfig.load(_toml(tmp_path, text))


def test_course_default_reads_the_file_named_by_the_environment(tmp_path, monkeypatch):
    from autograder.course import Course

    monkeypatch.setenv("VAECOURSE_COURSE_TOML", str(_toml(tmp_path, '[course]\nid = "other"\n')))
    assert Course.default().course_id == "other"


def test_extra_credit_is_read_from_course_toml(tmp_path):
    from autograder.course import REPO, CourseConfig, CourseConfigError

    assert CourseConfig.load(REPO / "course.toml").extra_credit == {"mmd_vae"}  # the README: extra credit
    config = CourseConfig.load(_toml(tmp_path, '[[assignments]]\nid = "a"\nextra_credit = true\n'
                                               '[[assignments]]\nid = "b"\n'))
    assert config.extra_credit == {"a"}
    with pytest.raises(CourseConfigError, match="extra_credit of a must be true or false"):
        CourseConfig.load(_toml(tmp_path, '[[assignments]]\nid = "a"\nextra_credit = "yes"\n'))
