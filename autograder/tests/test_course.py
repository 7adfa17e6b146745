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
