"""Late submissions: the upload records of collect, lateness against due dates, penalties."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder.course import Course, CourseConfig, LatePolicy
from autograder.pipeline.late import (
    Lateness,
    Upload,
    lateness,
    parse_upload_time,
    penalty,
    read_uploads,
    record_uploads,
    upload_of,
)

DUE = datetime(2026, 9, 21, 23, 59, tzinfo=timezone(timedelta(hours=-4)))


def _course(tmp_path: Path, regexp: str | None = None) -> Course:
    config = CourseConfig() if regexp is None else CourseConfig(named_regexp=regexp)
    return Course(root=tmp_path, source=tmp_path, release=tmp_path, work=tmp_path / "w", samples=tmp_path,
                  config=config)  # fmt: skip


def test_upload_times_from_file_names() -> None:
    assert parse_upload_time("2026-09-22-03-59-30") == datetime(2026, 9, 22, 3, 59, 30, tzinfo=UTC)
    assert parse_upload_time("2026-09-21T23:00:00-04:00") == datetime(2026, 9, 22, 3, 0, tzinfo=UTC)
    assert parse_upload_time("2026-09-22T03:00Z") == datetime(2026, 9, 22, 3, 0, tzinfo=UTC)
    assert parse_upload_time("") is None and parse_upload_time("yesterday") is None


def test_late_flag_and_timestamp_groups(tmp_path: Path) -> None:
    course = _course(tmp_path)
    assert upload_of(course, "Smith_LATE_12345_3_kl_theory.ipynb") == (
        "12345", 3, Upload("Smith_LATE_12345_3_kl_theory.ipynb", True, None))  # fmt: skip
    assert upload_of(course, "Smith_12345_3_kl_theory.ipynb")[2].late_flag is False  # type: ignore[index]
    assert upload_of(course, "kl_theory.ipynb") is None
    stamped = _course(tmp_path, r"^(?P<student_id>\w+)_(?P<timestamp>[\d-]+)_(?P<file_id>.+)$")
    sid, attempt, up = upload_of(stamped, "s1_2026-09-22-05-00-00_kl.ipynb")  # type: ignore[misc]
    assert (sid, attempt, up.uploaded) == ("s1", 0, datetime(2026, 9, 22, 5, tzinfo=UTC))


def test_record_uploads_keeps_the_latest_attempt_and_writes_nbgraders_timestamp(tmp_path: Path) -> None:
    course = _course(tmp_path, r"^(?P<last_name>[^_]+)_(?P<late>LATE_)?(?P<student_id>\d+)_(?P<attempt>\d+)"
                               r"(?:_(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d))?_(?P<file_id>.+)$")  # fmt: skip
    (course.submitted / "7" / "kl_theory").mkdir(parents=True)
    files = [Path("Ng_7_1_2026-09-20-10-00-00_kl_theory.ipynb"), Path("Ng_LATE_7_2_2026-09-23-10-00-00_kl_theory.ipynb"),
             Path("Oh_8_1_kl_theory.ipynb"), Path("notes.txt")]  # fmt: skip
    got = record_uploads(course, "kl_theory", files)
    assert got["7"] == Upload(files[1].name, True, datetime(2026, 9, 23, 10, tzinfo=UTC))
    assert got["8"] == Upload(files[2].name, False, None)
    assert (course.submitted / "7" / "kl_theory" / "timestamp.txt").read_text() == "2026-09-23 10:00:00.000000 UTC"
    record_uploads(course, "mmd_vae", [Path("Oh_8_1_mmd_vae.ipynb")])  # another assignment: merged
    assert read_uploads(course)["kl_theory"] == got and set(read_uploads(course)["mmd_vae"]) == {"8"}
    assert json.loads((course.reports / "uploads.json").read_text())["kl_theory"]["7"]["late_flag"] is True


def test_collect_puts_the_due_date_into_the_gradebook(toy_gradebook: Course, tmp_path: Path) -> None:
    import shutil
    from dataclasses import replace

    from nbgrader.api import Gradebook

    course = toy_gradebook.with_work(tmp_path / "w")
    course = replace(course, config=replace(course.config, due={"toy_vae": DUE}))
    course.work.mkdir()
    shutil.copy(toy_gradebook.db_path, course.db_path)
    record_uploads(course, "toy_vae", [Path("Ng_7_1_toy_vae.ipynb")])
    with Gradebook(course.db_url, course.course_id) as gb:
        assert gb.find_assignment("toy_vae").duedate == datetime(2026, 9, 22, 3, 59)  # UTC, as nbgrader keeps it


def test_lateness_from_the_upload_time_and_the_grace_period() -> None:
    grace = LatePolicy("per_day", 10, 100, grace_minutes=15)
    on_time = Upload("f", False, DUE - timedelta(minutes=1))
    assert lateness(on_time, DUE, grace) == Lateness(False, 0, "")
    assert not lateness(Upload("f", False, DUE + timedelta(minutes=14)), DUE, grace).late
    one = lateness(Upload("f", False, DUE + timedelta(minutes=16)), DUE, grace)
    assert one.late and one.days == 1 and "after the due date" in one.reason
    assert lateness(Upload("f", False, DUE + timedelta(days=2, minutes=16)), DUE, grace).days == 3
    # the site's flag without a time: one started day; with a time inside the grace: the time wins
    flagged = lateness(Upload("f", True, None), DUE, grace)
    assert flagged.late and flagged.days == 1 and "flagged" in flagged.reason
    assert not lateness(Upload("f", True, DUE + timedelta(minutes=5)), DUE, grace).late
    assert lateness(Upload("f", True, None), None, grace).late  # no due date: the flag still counts
    assert not lateness(Upload("f", False, DUE + timedelta(days=9)), None, grace).late
    assert lateness(None, DUE, grace) == Lateness(False, 0, "")


@pytest.mark.parametrize(
    ("policy", "days", "score", "expected"),
    [
        (LatePolicy("none"), 3, 30.0, 0.0),  # default: reported, not applied
        (LatePolicy("per_day", 10, 100), 1, 30.0, 4.0),  # 10% of the 40 points
        (LatePolicy("per_day", 10, 100), 3, 30.0, 12.0),
        (LatePolicy("per_day", 10, 25), 5, 30.0, 10.0),  # capped at 25% of 40
        (LatePolicy("per_day", 50, 100), 3, 30.0, 30.0),  # never below zero
        (LatePolicy("zero"), 1, 30.0, 30.0),
    ],
)  # fmt: skip
def test_penalties(policy: LatePolicy, days: int, score: float, expected: float) -> None:
    late = Lateness(True, days, "late")
    assert penalty(score, 40.0, late, policy) == pytest.approx(expected)
    assert penalty(score, 40.0, Lateness(False, 0, ""), policy) == 0.0
