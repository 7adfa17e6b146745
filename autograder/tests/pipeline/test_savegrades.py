"""A notebook's autograded scores reach the gradebook whole or not at all (one transaction).

The reference and the blank notebook of the test course are scored by
:class:`AtomicSaveAutoGrades` into a fresh gradebook: the same scores as nbgrader's own
``SaveAutoGrades``; then the gradebook fails on the third grade cell (a server gone away):
not one score of that notebook is recorded, and the previous ones stay as they were.
"""

from __future__ import annotations

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from autograder.course import Course
from autograder.pipeline.savegrades import AtomicSaveAutoGrades
from autograder.pipeline.settings import nbgrader_config


def _resources(course: Course, student: str) -> dict:
    return {"nbgrader": {"notebook": "toy_vae", "assignment": "toy_vae", "student": student,
                         "db_url": course.db_url}}  # fmt: skip


def _scores(course: Course, student: str) -> dict[str, tuple]:
    with Gradebook(course.db_url, course.course_id) as gb:
        nb = gb.find_submission_notebook("toy_vae", "toy_vae", student)
        return {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades}


def test_scores_like_nbgrader_in_one_transaction(toy_gradebook: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    course = toy_gradebook
    release = nbformat.read(course.grading_release_notebook("toy_vae"), as_version=4)
    with Gradebook(course.db_url, course.course_id) as gb:
        for student in ("atomic", "stock"):
            gb.update_or_create_student(student)
            gb.update_or_create_submission("toy_vae", student)
    AtomicSaveAutoGrades().preprocess(release, _resources(course, "atomic"))
    SaveAutoGrades().preprocess(release, _resources(course, "stock"))
    ours = _scores(course, "atomic")
    assert ours == _scores(course, "stock") and any(v[0] is not None for v in ours.values())
    assert AtomicSaveAutoGrades in nbgrader_config(course).Autograde.autograde_preprocessors

    with Gradebook(course.db_url, course.course_id) as gb:  # a mark that no grading writes
        for student in ("atomic", "stock"):
            for g in gb.find_submission_notebook("toy_vae", "toy_vae", student).grades:
                g.auto_score = 0.125
        gb.db.commit()
    calls = {"n": 0}
    real = Gradebook.find_grade

    def failing(self, *args):  # noqa: ANN001,ANN002
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise ConnectionError("the database server went away")
        return real(self, *args)

    monkeypatch.setattr(Gradebook, "find_grade", failing)
    for student, preprocessor in (("atomic", AtomicSaveAutoGrades), ("stock", SaveAutoGrades)):
        with pytest.raises(ConnectionError):
            preprocessor().preprocess(release, _resources(course, student))
    atomic, stock = (list(_scores(course, s).values()) for s in ("atomic", "stock"))
    assert all(score == 0.125 for score, _ in atomic)  # nothing of the failed save
    assert {score == 0.125 for score, _ in stock} == {True, False}  # nbgrader's: half a grade
