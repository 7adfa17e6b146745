"""What the instructor reads: the collect report, grading events, the score table, JSON reports."""

from __future__ import annotations

import json

from autograder.course import Course
from autograder.pipeline.collect import CollectReport
from autograder.pipeline.grade import GradeResult
from autograder.pipeline.repair import RepairReport
from autograder.pipeline.report import format_collect, format_events, format_table, write_results

REPORT = CollectReport(
    repairs={"mnist_vae": {"111": RepairReport("ok"), "222": RepairReport("repaired", ["cells were reordered"]),
                           "333": RepairReport("rejected", ["the file is empty", "graded as zero"])}},
    flags={"mnist_vae": {"111": [], "222": ["exits, kills or handles signals (cell 4: 'os._exit(0)')"]}},
    skipped=["notes.txt: the name is not <lastname>_<id>_<attempt>_<file>"],
    names={"111": "Smith"},
)  # fmt: skip


def test_collect_report() -> None:
    assert format_collect(REPORT, {"222": "Jones"}).splitlines() == [
        "mnist_vae: 3 submissions (1 repaired, 1 rejected)",
        "  Jones: repaired: cells were reordered",
        "  333: rejected: the file is empty; graded as zero",
        "  Jones: FLAGGED exits, kills or handles signals (cell 4: 'os._exit(0)')",
        "skipped notes.txt: the name is not <lastname>_<id>_<attempt>_<file>",
    ]


RESULTS = [
    GradeResult("b", "kl_theory", True, 1.0, events=[{"cell": 3, "grade_id": "", "kind": "status-error", "detail": ""}]),
    GradeResult("a", "kl_theory", True, 2.0, events=[{"cell": 5, "grade_id": "x", "kind": "KernelDied", "detail": "d"},
                                                     {"cell": 5, "grade_id": "x", "kind": "restarted", "detail": ""}]),
    GradeResult("c", "mmd_vae", False, 3.0, error="Traceback...\nRuntimeError: the database is gone"),
]  # fmt: skip


def test_events_leave_out_plain_errors_and_keep_failures() -> None:
    assert format_events(RESULTS, {"a": "Ann"}).splitlines() == [
        "  Ann/kl_theory: KernelDied, restarted",
        "  c/mmd_vae: grading failed: RuntimeError: the database is gone",
    ]
    assert format_events(RESULTS[:1]) == ""


def test_results_saved(tmp_path) -> None:
    course = Course(root=tmp_path, source=tmp_path, release=tmp_path, work=tmp_path / "w", samples=tmp_path)
    write_results(course, RESULTS)
    saved = json.loads((course.reports / "autograde.json").read_text())
    assert [r["student"] for r in saved] == ["b", "a", "c"] and saved[2]["error"].endswith("gone")
    events = json.loads((course.reports / "events.json").read_text())
    assert events["a/kl_theory"][0]["kind"] == "KernelDied" and events["c/mmd_vae"] == []


def test_score_table_marks_unexpected_scores() -> None:
    table = {"111": {"mnist_vae": (40.0, 40.0), "kl_theory": (3.5, 20.0)}, "222": {"mnist_vae": (0.0, 40.0)}}
    lines = format_table(table, ["mnist_vae", "kl_theory"], labels={"111": "Smith (111)"},
                         expected={("111", "kl_theory"): 20.0, ("222", "mnist_vae"): 0.0}).splitlines()  # fmt: skip
    assert lines[0].split() == ["student", "mnist_vae", "kl_theory"]
    assert lines[2].split() == ["222", "0/40", "-"]  # sorted by label; no kl_theory submission
    assert lines[3].split() == ["Smith", "(111)", "40/40", "3.5/20!20"]
