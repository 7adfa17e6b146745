"""Expected against actual scores, per grade cell, read from the gradebook (the one comparison)."""

from __future__ import annotations

from autograder.course import Course
from autograder.pipeline.grade import GradeResult, zero_out
from autograder.proofs.build import SampleCase
from autograder.proofs.verify import CaseOutcome, SampleRun, compare, format_run

CASE = SampleCase("pack1", "toy_quiz", "mixed", "a + b", b"", {"t1": 1.0, "t2": 2.0, "t3": 0.0})


def test_mismatches_missing_cells_count_as_wrong() -> None:
    right = CaseOutcome(CASE, {"t1": 1.0, "t2": 2.0, "t3": 0.0}, None)
    assert right.ok and right.mismatches == [] and right.expected_total == right.actual_total == 3
    wrong = CaseOutcome(CASE, {"t1": 1.0, "t2": 0.5, "t3": None}, None)
    assert not wrong.ok and wrong.mismatches == ["t2", "t3"] and wrong.actual_total == 1.5
    assert not SampleRun([right, wrong]).ok and SampleRun([right]).ok


def test_compare_reads_the_gradebook_by_student_id(toy_gradebook: Course) -> None:
    zero_out(toy_gradebook, "toy_quiz", "s42", "test")
    expect_zero = SampleCase("blank", "toy_quiz", "blank", "", b"", {"test_answer_prior": 0.0})
    expect_full = SampleCase("reference", "toy_quiz", "reference", "", b"", {"test_answer_prior": 1.0})
    result = GradeResult("s42", "toy_quiz", True, 1.0)
    outcomes = compare(toy_gradebook, [("s42", expect_zero), ("s42", expect_full), ("nobody", expect_zero)], [result])
    assert [o.ok for o in outcomes] == [True, False, False]
    assert outcomes[0].result is result and outcomes[2].result is None
    assert outcomes[2].actual == {"test_answer_prior": None}


def test_format_run_shows_cells_and_marks_differences() -> None:
    run = SampleRun([CaseOutcome(CASE, {"t1": 1.0, "t2": 0.0, "t3": 0.0},
                                 GradeResult("pack1", "toy_quiz", True, 1.0, events=[
                                     {"cell": 4, "grade_id": "t2", "kind": "KernelDied", "detail": "boom"}]))],
                    seconds=12.0)  # fmt: skip
    text = format_run(run)
    assert text.splitlines()[0].startswith("FAIL toy_quiz")
    assert "(a + b)" in text and "t2" in text and "<-- differs" in text
    assert "event: cell 4 t2 KernelDied boom" in text
    assert text.splitlines()[-1] == "1 samples, 1 differ from their expected scores (12 s)"
    quiet = format_run(SampleRun([CaseOutcome(CASE, {"t1": 1.0, "t2": 2.0, "t3": 0.0}, None)]), verbose=False)
    assert "expected   3.0  actual   3.0" in quiet and "t1" not in quiet


def test_feedback_leaks_finds_hidden_lines_sentinels_and_paths(toy_course: Course, tmp_path) -> None:
    from autograder.proofs.verify import feedback_leaks

    course = toy_course.with_work(tmp_path / "work")
    folder = course.feedback / "s1" / "toy_vae"
    folder.mkdir(parents=True)
    hidden = "_mu, _lv, _eps = _r.normal(size=(_b, _d)), _r.normal(size=(_b, _d)), _r.normal(size=(_b, _d))"
    clean = folder / "toy_vae.html"
    clean.write_text('<div class="highlight hl-ipython3"><pre>print(1)</pre></div><pre>z passes</pre>')
    assert feedback_leaks(course, [clean], [str(tmp_path)]) == []
    leaky = folder / "leaky.html"
    leaky.write_text(f"<pre>Cell In[6], line 3\n      3 {hidden}\n</pre><pre>_vaecourse_ran_ab12</pre>"
                     f"<pre>FileNotFoundError: {tmp_path}/work/data.npz</pre>")
    found = feedback_leaks(course, [leaky], [str(tmp_path)])
    assert any("hidden test line" in f for f in found) and any("sentinel" in f for f in found)
    assert any("path of the grading machine" in f for f in found)
    own = folder / "own.html"  # the student's own code shown in an input area is theirs to see
    own.write_text(f'<div class="highlight hl-ipython3"><pre>{tmp_path}/x = 1</pre></div>')
    assert feedback_leaks(course, [own], [str(tmp_path)]) == []
