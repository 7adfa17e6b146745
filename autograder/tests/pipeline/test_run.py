"""The pipeline's sequence: collect -> autograde -> feedback -> export, in that order, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course import Course
from autograder.pipeline import run
from autograder.pipeline.collect import CollectReport


def test_submitted_pairs_biggest_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = Course(root=tmp_path, source=tmp_path, release=tmp_path, work=tmp_path / "w", samples=tmp_path)
    for student, size in (("1", 10), ("2", 300), ("3", 50)):
        path = course.submitted / student / "kl_theory" / "kl_theory.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text("x" * size)
    (course.submitted / "4" / "kl_theory").mkdir(parents=True)  # no notebook: nothing to grade
    assert run.submitted_pairs(course, ["kl_theory", "mmd_vae"]) == [("kl_theory", s) for s in "123"]
    graded = []
    monkeypatch.setattr(run, "autograde", lambda course, pairs, jobs: graded.append((pairs, jobs)) or [])
    assert run.run_autograde(course, ["kl_theory"], jobs=3) == []
    assert graded == [([("kl_theory", "2"), ("kl_theory", "3"), ("kl_theory", "1")], 3)]
    assert (course.reports / "autograde.json").read_text() == "[]"


def test_grade_class_runs_the_steps_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    report = CollectReport(names={"1": "Smith"})
    monkeypatch.setattr(run, "prepare_gradebook", lambda c, a: calls.append(f"prepare {a}"))
    monkeypatch.setattr(run, "collect", lambda c, s, a, only: calls.append(f"collect {s} {only}") or report)
    monkeypatch.setattr(run, "run_autograde", lambda c, a, jobs: calls.append(f"autograde {jobs}") or ["r"])
    monkeypatch.setattr(run, "feedback", lambda c, a: calls.append("feedback") or [Path("f.html")])
    monkeypatch.setattr(run, "export", lambda c, to: calls.append(f"export {to}") or Path("g.csv"))
    monkeypatch.setattr(run, "ungraded", lambda c, a: calls.append("ungraded?") or {})
    done = run.grade_class(Course.default(), Path("in.zip"), ["kl_theory"], jobs=4, only="kl_theory",
                           to=Path("out.csv"), on_collected=lambda r: calls.append(f"seen {r.names}"))  # fmt: skip
    assert calls == ["prepare ['kl_theory']", "collect in.zip kl_theory", "seen {'1': 'Smith'}", "autograde 4",
                     "ungraded?", "feedback", "export out.csv"]  # fmt: skip
    assert (done.collect, done.results, done.grades, done.feedback) == (report, ["r"], Path("g.csv"), [Path("f.html")])
    calls.clear()
    run.grade_class(Course.default(), Path("in.zip"), ["kl_theory"], prepared=True)
    assert calls[0].startswith("collect")


def test_grade_class_stops_for_hand_grading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Written answers still ungraded: no feedback, no grades, unless forced."""
    calls: list[str] = []
    monkeypatch.setattr(run, "collect", lambda c, s, a, only: CollectReport())
    monkeypatch.setattr(run, "run_autograde", lambda c, a, jobs: [])
    monkeypatch.setattr(run, "feedback", lambda c, a: calls.append("feedback") or [])
    monkeypatch.setattr(run, "export", lambda c, to: calls.append("export") or Path("g.csv"))
    monkeypatch.setattr(run, "ungraded", lambda c, a: {"kl_theory": 3})
    done = run.grade_class(Course.default(), Path("in.zip"), ["kl_theory"], prepared=True)
    assert calls == [] and done.grades is None and done.ungraded == {"kl_theory": 3}
    done = run.grade_class(Course.default(), Path("in.zip"), ["kl_theory"], prepared=True, force=True)
    assert calls == ["feedback", "export"] and done.grades == Path("g.csv") and done.ungraded == {"kl_theory": 3}


def test_the_toy_class_end_to_end(toy_demo) -> None:
    """The demo grades the test course through :func:`grade_class`: every output is there."""
    work, done = toy_demo.work, toy_demo.run
    assert done.grades == work.reports / "grades.csv" and done.grades.is_file()
    for report in ("collect.json", "autograde.json", "events.json"):
        assert (work.reports / report).is_file()
    rejected = {s for rep in done.collect.repairs.values() for s, r in rep.items() if r.status == "rejected"}
    graded = {s.student_id for s in toy_demo.students} - rejected
    assert rejected and {r.student for r in done.results} == graded
    assert {p.parent.parent.name for p in done.feedback} == graded
