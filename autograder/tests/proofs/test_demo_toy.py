"""The whole pipeline on the test course: every kind of submission gets exactly its score.

One session-wide run (fixture ``toy_demo``): course-site downloads -> zip_collect -> repair ->
nbgrader autograde in sandboxed kernels -> feedback -> grades.csv.
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import nbformat
import pytest

from autograder.proofs.cases import OUTLIVING, makers
from autograder.sandbox import cgroups

from ..conftest import run_processes

DAMAGED = [m.name for m in makers({}, toy=True) if m.group == "damaged"]
ADVERSARIAL = [m.name for m in makers({}, toy=True) if m.group == "adversarial"]
REJECTED = {"empty_file", "not_a_notebook", "wrong_assignment"}


def _outcome(demo, student: str, assignment: str = "toy_vae"):
    found = [o for o in demo.outcomes if o.case.student == student and o.case.assignment == assignment]
    assert found, f"no case {student}/{assignment}"
    return found[0]


def _student_id(demo, label: str) -> str:
    return next(s.student_id for s in demo.students if s.label == label)


def _explain(o) -> str:
    extra = "; ".join(f"{e['kind']} at {e['grade_id'] or e['cell']}" for e in (o.result.events if o.result else []))
    return f"{o.case.student}: expected {o.case.expected}, got {o.actual}; events: {extra}"


def test_reference_gets_full_marks(toy_demo) -> None:
    for assignment in ("toy_vae", "toy_quiz"):
        o = _outcome(toy_demo, "reference", assignment)
        assert o.ok and o.actual_total == o.expected_total > 0, _explain(o)


def test_blank_scores_zero_and_batch_goes_on(toy_demo) -> None:
    for assignment in ("toy_vae", "toy_quiz"):
        o = _outcome(toy_demo, "blank", assignment)
        assert o.ok and o.actual_total == 0, _explain(o)
    assert all(r.success for r in toy_demo.run.results), [r.error for r in toy_demo.run.results if not r.success]


def test_each_mistake_loses_exactly_its_targeted_tests(toy_demo) -> None:
    packs = [o for o in toy_demo.outcomes if o.case.student.startswith("pack")]
    assert packs
    for o in packs:
        assert o.ok, _explain(o)
    # every mistake of the test course is in some pack, and the packs lost points
    described = " + ".join(o.case.description for o in packs)
    for name in ("sigma_as_variance", "kl_wrong_sign", "kl_mean_not_sum", "answer_as_list", "sqrt_exp", "kl_loop"):
        assert name in described
    full = _outcome(toy_demo, "reference").actual_total
    for o in packs:
        if o.case.kind != "alternative":  # a pack holding a mistake loses points
            assert o.actual_total < full, _explain(o)


@pytest.mark.parametrize("name", DAMAGED)
def test_damaged_submission(toy_demo, name: str) -> None:
    o = _outcome(toy_demo, name)
    assert o.ok, _explain(o)
    sid = _student_id(toy_demo, "".join(p.capitalize() for p in name.split("_")))
    status = toy_demo.run.collect.repairs["toy_vae"][sid].status
    if name in REJECTED:
        assert status == "rejected" and o.actual_total == 0
    else:
        assert status == "repaired" and o.actual_total == o.expected_total > 0


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_adversarial_submission(toy_demo, name: str) -> None:
    o = _outcome(toy_demo, name)
    assert o.ok, _explain(o)


def test_hangs_and_crashes_restart_the_kernel(toy_demo) -> None:
    kinds = {o.case.student: {e["kind"] for e in o.result.events} for o in toy_demo.outcomes if o.result}
    assert {"CellTimeoutError", "restarted"} <= kinds["hang"]
    assert {"KernelDied", "restarted"} <= kinds["exit_kernel"]
    assert {"KernelExit", "restarted"} <= kinds["quit_kernel"]
    assert "output-truncated" in kinds["flood"]
    assert "test-not-run" in kinds["transformer"]


def test_sandbox_blocked_every_escape(toy_demo) -> None:
    sid = _student_id(toy_demo, "EscapeAttempts")
    nb = nbformat.read(toy_demo.work.autograded / sid / "toy_vae" / "toy_vae.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    for attempt in ("read solutions", "read gradebook", "write gradebook", "list submissions",
                    "signal the grader", "network"):  # fmt: skip
        assert f"{attempt}: blocked" in text, text
    assert "SUCCEEDED" not in text


def test_gradebook_intact_and_grades_exported(toy_demo) -> None:
    db = sqlite3.connect(toy_demo.work.db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with open(toy_demo.work.reports / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    students = {s.student_id for s in toy_demo.students}
    assert {r["student_id"] for r in rows} == students
    ref = _student_id(toy_demo, "Reference")
    by_key = {(r["student_id"], r["assignment"]): r for r in rows}
    assert float(by_key[(ref, "toy_vae")]["score"]) == 6.0  # 6 autograded points; the written answer is manual
    assert by_key[(ref, "toy_vae")]["last_name"] == "Reference"


def test_older_attempt_ignored_and_renamed_upload_routed(toy_demo) -> None:
    assert _outcome(toy_demo, "reference").actual_total == 6.0  # attempt 1 (blank) ignored
    pack1 = _student_id(toy_demo, "Pack1")  # uploaded "Copy of toy_vae (1).ipynb"
    assert (toy_demo.work.submitted / pack1 / "toy_vae" / "toy_vae.ipynb").is_file()


def test_feedback_has_no_hidden_tests(toy_demo) -> None:
    html = (toy_demo.work.feedback / _student_id(toy_demo, "Reference") / "toy_vae" / "toy_vae.html").read_text()
    assert "reparameterize" in html and "assert_untampered" in html  # code and visible tests shown
    assert "HIDDEN" not in html and "_expected" not in html and "_lv" not in html  # hidden tests not


def test_no_feedback_shows_hidden_test_code_or_grader_paths(toy_demo) -> None:
    """Every feedback file of the demo (failed hidden tests' tracebacks included): no hidden test
    line, no sentinel, no absolute path of the grading machine; the tests' messages stay."""
    from autograder.pipeline.settings import grader_roots
    from autograder.proofs.verify import feedback_leaks

    files = sorted(toy_demo.work.feedback.rglob("*.html"))
    assert len(files) >= 20
    leaks = feedback_leaks(toy_demo.work, files, grader_roots(toy_demo.work))
    assert not leaks, "\n".join(leaks[:20])
    pack = (toy_demo.work.feedback / _student_id(toy_demo, "Pack2") / "toy_vae" / "toy_vae.html").read_text()
    assert "KL differs from the expected value" in pack and "in the test cell" in pack  # message kept, code not
    assert "vaecourse/checks.py" in pack  # the public package's frame, its path cut to the package


def test_feedback_names_each_catalogued_mistake(toy_demo) -> None:
    """Issue 24: the feedback of every mistake sample of a function fill-in names the mistake in
    the catalogue's words; where nothing matches (a class, an answer variable) none is claimed."""
    from autograder.proofs.demo import undiagnosed

    assert undiagnosed(toy_demo) == []
    pack = (toy_demo.work.feedback / _student_id(toy_demo, "Pack2") / "toy_vae" / "toy_vae.html").read_text()
    assert "behaves like a common mistake: " in pack
    reference = (toy_demo.work.feedback / _student_id(toy_demo, "Reference") / "toy_vae" / "toy_vae.html").read_text()
    assert "Diagnosis" not in reference


def test_suspicious_code_is_flagged(toy_demo) -> None:
    flags = toy_demo.run.collect.flags["toy_vae"]
    for label, words in (("Monkeypatch", "monkeypatches"), ("CustomExc", "changes how cells run"),
                         ("ExitKernel", "exits"), ("AlwaysEqual", "comparison")):  # fmt: skip
        assert any(words in f for f in flags[_student_id(toy_demo, label)]), flags[_student_id(toy_demo, label)]
    assert flags[_student_id(toy_demo, "Reference")] == []


def test_flags_reach_the_formgraders_flagged_column_and_name_every_cell(toy_demo) -> None:
    """The gradebook rows the formgrader's submissions list reads carry the scan's flag, and
    the autograded notebook opens with a graders-only box naming each flag's cells."""
    from nbgrader.api import Gradebook

    flags = toy_demo.run.collect.flags["toy_vae"]
    with Gradebook(toy_demo.work.db_url, toy_demo.work.course_id) as gb:
        rows = {r["student"]: r for r in gb.notebook_submission_dicts("toy_vae", "toy_vae")}
    flagged = {s for s, f in flags.items() if f}
    assert len(flagged) >= 4
    assert {s for s, r in rows.items() if r["flagged"]} == flagged & set(rows)
    sid = _student_id(toy_demo, "Monkeypatch")
    nb = nbformat.read(toy_demo.work.autograded / sid / "toy_vae" / "toy_vae.ipynb", as_version=4)
    box = next(c for c in nb.cells[:3] if "flagged by the collect scan" in c.source)
    for flag in flags[sid]:
        assert __import__("html").escape(flag) in box.source
    html = (toy_demo.work.feedback / sid / "toy_vae" / "toy_vae.html").read_text()
    assert "flagged by the collect scan" not in html  # graders only


def test_demo_table_lists_every_student(toy_demo) -> None:
    for s in toy_demo.students:
        assert f"{s.label} ({s.student_id})" in toy_demo.table
    assert "!" not in toy_demo.table.split("\n", 2)[2]


def test_plan_and_downloads(toy_gradebook, tmp_path) -> None:
    """Who submits what, and the zip of course-site downloads the demo grades (no grading here)."""
    import zipfile

    from autograder.proofs.build import release_of
    from autograder.proofs.demo import plan, write_downloads

    students = plan(toy_gradebook, ["toy_vae", "toy_quiz"], "toy_vae", pack=True, toy=True)
    labels = [s.label for s in students]
    assert labels[:2] == ["Reference", "Blank"] and "Pack1" in labels
    assert {"LostMetadata", "Hang", "EscapeAttempts"} <= set(labels)
    assert len({s.student_id for s in students}) == len(students)
    by_label = {s.label: s for s in students}
    assert [c.assignment for c in by_label["Reference"].cases] == ["toy_vae", "toy_quiz"]
    assert [c.assignment for c in by_label["Hang"].cases] == ["toy_vae"]  # cases on the target only
    releases = {a: release_of(toy_gradebook, a) for a in ("toy_vae", "toy_quiz")}
    names = zipfile.ZipFile(write_downloads(students, releases, tmp_path / "d.zip")).namelist()
    ref, pack1 = by_label["Reference"].student_id, by_label["Pack1"].student_id
    assert f"Reference_{ref}_1_toy_vae.ipynb" in names and f"Reference_{ref}_2_toy_vae.ipynb" in names
    assert f"Pack1_{pack1}_2_Copy of toy_vae (1).ipynb" in names
    assert len(names) == sum(len(s.cases) for s in students) + len(by_label["Reference"].cases)


@pytest.mark.parametrize("name", OUTLIVING)
def test_processes_that_try_to_outlive_the_notebook(toy_demo, name: str) -> None:
    """Fork sleepers in sessions of their own, a double fork, busy children deaf to SIGTERM, a
    thread storm, a writer filling the kernel's folder: zero, flagged, and nothing of theirs
    left (processes, files, cgroups)."""
    o = _outcome(toy_demo, name)
    assert o.ok and o.actual_total == 0, _explain(o)
    sid = _student_id(toy_demo, "".join(p.capitalize() for p in name.split("_")))
    assert any("starts processes or threads" in f for f in toy_demo.run.collect.flags["toy_vae"][sid])
    assert o.result.kernels, "no kernel recorded"
    for k in o.result.kernels:
        assert not Path(k["state"]).exists(), k  # the kernel's folder (and the filler files) are gone
        if k.get("cgroup"):
            assert k["cgroup_removed"] and k["cgroup"] not in {g.name for g in cgroups.groups()}, k
    if name != "thread_storm":  # threads end with their kernel; processes had to be killed
        assert sum(k["killed"] for k in o.result.kernels) > 0, o.result.kernels
        assert "processes-killed" in {e["kind"] for e in o.result.events}


def test_fork_storm_stays_within_its_bound(toy_demo) -> None:
    for name in ("fork_sleepers", "thread_storm"):
        o = _outcome(toy_demo, name)
        sid = _student_id(toy_demo, "".join(p.capitalize() for p in name.split("_")))
        nb = nbformat.read(toy_demo.work.autograded / sid / "toy_vae" / "toy_vae.ipynb", as_version=4)
        text = "".join(out.get("text", "") for c in nb.cells if c.cell_type == "code" for out in c.outputs)
        bounded = [k for k in o.result.kernels if k.get("tasks_max")]
        if bounded:  # a pids cgroup: a hard bound, and it was reached
            assert all(k["tasks_peak"] <= k["tasks_max"] for k in bounded), bounded
            assert any(k.get("tasks_refused", 0) > 0 for k in bounded), bounded
            assert "refused after" in text, text
        else:  # the keeper's look: the kernel was stopped at its bound
            assert any("more than" in k["reason"] for k in o.result.kernels), o.result.kernels


def test_the_filled_folder_is_bounded(toy_demo) -> None:
    o = _outcome(toy_demo, "fill_folder")
    stopped = [k["reason"] for k in o.result.kernels if k["reason"]]
    if stopped:  # the writer reached the limit before the notebook ended
        assert "folder grew past its limit" in stopped[0]
        assert "kernel-limit" in {e["kind"] for e in o.result.events}


def test_no_process_of_the_run_is_left(toy_demo) -> None:
    assert run_processes(toy_demo.run.results, toy_demo.processes_before) == []
