"""Grades out of the gradebook: nbgrader's CSV, one row per student and assignment."""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.course import Course
from autograder.pipeline.export import export
from autograder.pipeline.grade import zero_out


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
