"""Grades out of the gradebook: nbgrader's CSV, one row per student and assignment."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autograder.course import REPO, Course, LatePolicy
from autograder.pipeline.export import (
    CanvasExportPlugin,
    UngradedError,
    export,
    export_result,
    format_export,
)
from autograder.pipeline.grade import zero_out
from autograder.pipeline.late import Upload


def test_export_writes_every_student_and_assignment(toy_gradebook: Course, tmp_path: Path) -> None:
    zero_out(toy_gradebook, "toy_quiz", "exported_student", "test")
    default = export(toy_gradebook)
    assert default == toy_gradebook.reports / "grades.csv"
    chosen = export(toy_gradebook, tmp_path / "out" / "grades.csv")
    assert chosen.read_text() == default.read_text()
    with open(chosen) as f:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    row = rows[("exported_student", "toy_quiz")]
    assert float(row["score"]) == 0 and float(row["max_score"]) == 1


# ---- the LMS formats -----------------------------------------------------------------------
DUE = datetime(2026, 9, 21, 23, 59, tzinfo=UTC)


def _grade(course: Course, student: str, last: str, written: float | None, late: Upload | None = None) -> None:
    """A toy_vae submission with every test passed (6 points) and the written answer
    (2 points) graded ``written`` or still waiting (None)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        gb.update_or_create_student(student, last_name=last, first_name="A")
        sub = gb.add_submission("toy_vae", student)
        for nb in sub.notebooks:
            for g in nb.grades:
                if g.name == "written_trick":
                    g.manual_score = written
                    g.needs_manual_grade = written is None
                else:
                    g.auto_score, g.needs_manual_grade = g.max_score, False
        gb.db.commit()
    if late is not None:
        path = course.reports / "uploads.json"
        data = json.loads(path.read_text()) if path.is_file() else {}
        data.setdefault("toy_vae", {})[student] = late.to_json()
        course.reports.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))


@pytest.fixture
def graded(toy_gradebook: Course, tmp_path: Path) -> Course:
    """A fresh gradebook of the test course: Ng graded (1.5 of 2 written), Oh late by the
    clock (2 days), Pak late by the site's flag, Qi's written answer not graded yet."""
    course = toy_gradebook.with_work(tmp_path / "work")
    config = replace(course.config, due={"toy_vae": DUE, "toy_quiz": None},
                     lms_columns={"toy_vae": "Toy VAE (4711)"})  # fmt: skip
    course = replace(course, config=config)
    course.work.mkdir(parents=True)
    shutil.copy(toy_gradebook.db_path, course.db_path)  # the assignments, cells and points
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:  # students other tests added
        for student in list(gb.students):
            gb.remove_student(student.id)
    _grade(course, "s1", "Ng", 1.5, Upload("Ng_s1_1_toy_vae.ipynb", False, DUE - timedelta(hours=1)))
    _grade(course, "s2", "Oh", 2.0, Upload("Oh_s2_1_toy_vae.ipynb", False, DUE + timedelta(days=1, hours=1)))
    _grade(course, "s3", "Pak", 0.0, Upload("Pak_LATE_s3_1_toy_vae.ipynb", True, None))
    _grade(course, "s4", "Qi", None)
    return course


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_export_refuses_while_written_answers_are_ungraded(graded: Course) -> None:
    with pytest.raises(UngradedError, match=r"toy_vae: 1.*--force"):
        export_result(graded, None, "canvas")
    assert not (graded.reports / "grades-canvas.csv").exists()
    forced = export_result(graded, None, "canvas", force=True)
    assert forced.forced and forced.ungraded == {"toy_vae": 1}
    assert "count as zero" in format_export(forced)
    assert _rows(forced.path)[-1][:2] == ["Qi, A", "s4"] and _rows(forced.path)[-1][5] == "6"


def test_canvas_and_generic_one_row_per_student(graded: Course) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(graded.db_url, graded.course_id) as gb:
        grade = gb.find_grade("written_trick", "toy_vae", "toy_vae", "s4")
        grade.manual_score, grade.needs_manual_grade = 1.0, False
        gb.db.commit()
    canvas = export_result(graded, None, "canvas")
    rows = _rows(canvas.path)
    # toy_quiz has no submission yet: no column (Canvas would create an empty assignment)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Toy VAE (4711)"]
    assert canvas.left_out == ["toy_quiz"] and "no column for toy_quiz" in format_export(canvas)
    col = rows[0].index("Toy VAE (4711)")
    assert rows[1][0].strip() == "Points Possible" and rows[1][col] == "8"
    scores = {r[1]: r[col] for r in rows[2:]}
    # policy "none" (the default): late work is reported, not penalized
    assert scores == {"s1": "7.5", "s2": "8", "s3": "6", "s4": "7"}
    assert {r[1]: r[0] for r in rows[2:]}["s1"] == "Ng, A"  # Canvas's "Last, First"
    late = {r["student_id"]: r for r in csv.DictReader(open(canvas.late_report))}
    assert set(late) == {"s2", "s3"} and late["s2"]["days_late"] == "2" and late["s2"]["penalty"] == "0"
    generic = export_result(graded, graded.reports / "wide.csv", "generic")
    rows = _rows(generic.path)
    assert rows[0] == ["student_id", "last_name", "first_name", "toy_vae", "total", "total_possible", "percent"]
    assert {r[0]: r[4:] for r in rows[1:]} == {"s1": ["7.5", "8", "93.75"], "s2": ["8", "8", "100"],
                                               "s3": ["6", "8", "75"], "s4": ["7", "8", "87.5"]}  # fmt: skip


def test_late_policies_applied_in_the_export(graded: Course) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(graded.db_url, graded.course_id) as gb:
        grade = gb.find_grade("written_trick", "toy_vae", "toy_vae", "s4")
        grade.manual_score, grade.needs_manual_grade = 2.0, False
        gb.db.commit()

    def scores(policy: LatePolicy) -> dict[str, str]:
        course = replace(graded, config=replace(graded.config, late=policy))
        rows = _rows(export_result(course, None, "generic").path)
        return {r[0]: r[rows[0].index("toy_vae")] for r in rows[1:]}

    # Oh: 2 started days late by the clock; Pak: flagged, no time (1 day); 10% of 8 points a day
    assert scores(LatePolicy("per_day", 10, 100)) == {"s1": "7.5", "s2": "6.4", "s3": "5.2", "s4": "8"}
    assert scores(LatePolicy("per_day", 10, 100, grace_minutes=61)) == {"s1": "7.5", "s2": "7.2", "s3": "5.2",
                                                                       "s4": "8"}  # fmt: skip
    assert scores(LatePolicy("zero")) == {"s1": "7.5", "s2": "0", "s3": "0", "s4": "8"}


def test_nbgrader_export_plugin_from_the_command_line(graded: Course, tmp_path: Path) -> None:
    """``nbgrader export --exporter=...CanvasExportPlugin`` in ``autograder/`` on the same gradebook."""
    from nbgrader.api import Gradebook

    target = tmp_path / "canvas.csv"
    plugin = CanvasExportPlugin()
    plugin.course, plugin.to = graded, str(target)
    with Gradebook(graded.db_url, graded.course_id) as gb, pytest.raises(SystemExit):
        plugin.export(gb)  # ungraded written answers: refused (exit status 1, no traceback)
    assert not target.exists()
    env = {**os.environ, "VAECOURSE_COURSE_DIR": str(graded.work), "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "nbgrader", "export", "--exporter=autograder.pipeline.export.CanvasExportPlugin",
            f"--to={target}", "--LmsExportPlugin.force=True"]  # fmt: skip
    done = subprocess.run(args, cwd=REPO / "autograder", env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = _rows(target)
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert {r[1] for r in rows[2:]} == {"s1", "s2", "s3", "s4"} and (tmp_path / "late.csv").is_file()
    # without --to: into the course's reports/, not the current folder (autograder/)
    before = set((REPO / "autograder").iterdir())
    done = subprocess.run(args[:-2] + ["--LmsExportPlugin.force=True"], cwd=REPO / "autograder", env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert set((REPO / "autograder").iterdir()) == before
    assert (graded.reports / "grades-canvas.csv").is_file() and (graded.reports / "late.csv").is_file()


def test_extra_credit_has_no_points_possible_and_stays_out_of_the_denominator(graded: Course) -> None:
    """``extra_credit = true`` (course.toml): Canvas gets 0 points possible, the generic total
    counts the points but not the possible ones; a student who skips it keeps 100%."""
    from nbgrader.api import Gradebook

    with Gradebook(graded.db_url, graded.course_id) as gb:
        grade = gb.find_grade("written_trick", "toy_vae", "toy_vae", "s4")
        grade.manual_score, grade.needs_manual_grade = 2.0, False
        gb.db.commit()
    zero_out(graded, "toy_quiz", "s1", "test")  # s1 handed in the quiz: 0 of 1
    with Gradebook(graded.db_url, graded.course_id) as gb:
        grade = gb.find_grade("test_answer_prior", "toy_quiz", "toy_quiz", "s1")
        grade.auto_score = grade.max_score
        gb.db.commit()
    course = replace(graded, config=replace(graded.config, extra_credit=frozenset({"toy_quiz"})))
    canvas = export_result(course, None, "canvas")
    rows = _rows(canvas.path)
    quiz, vae = rows[0].index("toy_quiz"), rows[0].index("Toy VAE (4711)")
    assert rows[1][quiz] == "0" and rows[1][vae] == "8"
    by_id = {r[1]: r for r in rows[2:]}
    assert by_id["s1"][quiz] == "1" and by_id["s2"][quiz] == ""
    assert "extra credit" in format_export(canvas) and canvas.extra_credit == {"toy_quiz"}
    rows = _rows(export_result(course, None, "generic").path)
    head = rows[0]
    by_id = {r[0]: dict(zip(head, r, strict=True)) for r in rows[1:]}
    assert by_id["s1"]["total"] == "8.5" and by_id["s1"]["total_possible"] == "8" and by_id["s1"]["percent"] == "106.25"
    assert by_id["s2"]["total"] == "8" and by_id["s2"]["total_possible"] == "8" and by_id["s2"]["percent"] == "100"
    # without the flag the quiz is in the denominator: skipping it costs the student
    rows = _rows(export_result(graded, None, "generic").path)
    by_id = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_id["s2"]["total_possible"] == "9" and by_id["s2"]["percent"] == "88.89"


def test_a_canvas_roster_gives_last_first_names_and_sis_columns(graded: Course, tmp_path: Path) -> None:
    from autograder.pipeline.export import RosterError

    roster = tmp_path / "canvas-gradebook.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,Toy VAE (4711)\n"
        "    Points Possible,,,,,8\n"
        '"Ng, Mai",s1,N001,mng,Section A,\n'
        '"Oh, Jun",s2,O002,joh,Section B,\n'
        '"Student, Test",999,,,,\n', encoding="utf-8")  # fmt: skip
    canvas = export_result(graded, None, "canvas", force=True, roster=roster)
    by_id = {r[1]: r for r in _rows(canvas.path)[2:]}
    assert by_id["s1"][:5] == ["Ng, Mai", "s1", "N001", "mng", "Section A"]
    assert by_id["s2"][:5] == ["Oh, Jun", "s2", "O002", "joh", "Section B"]
    assert by_id["s3"][:5] == ["Pak, A", "s3", "", "", ""]  # not in the roster: the gradebook's name
    assert canvas.unnamed == 2 and "not in the roster" in format_export(canvas)
    generic = _rows(export_result(graded, None, "generic", force=True, roster=roster).path)
    assert {r[0]: r[1:3] for r in generic[1:]}["s1"] == ["Ng", "Mai"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nx,y\n")
    with pytest.raises(RosterError, match="needs the columns Student, ID"):
        export_result(graded, None, "canvas", force=True, roster=bad)
    with pytest.raises(RosterError, match="No roster at"):
        export_result(graded, None, "canvas", force=True, roster=tmp_path / "missing.csv")
