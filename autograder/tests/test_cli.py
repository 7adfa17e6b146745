"""The commands: arguments parsed, one pipeline call each, its report printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import cli
from autograder.course import Course
from autograder.pipeline import report, run
from autograder.pipeline.collect import CollectReport
from autograder.pipeline.grade import GradeResult
from autograder.pipeline.repair import RepairReport


def test_every_command_parses() -> None:
    parser = cli.build_parser()
    for argv in (["release"], ["check-release", "kl_theory"], ["samples", "--pack", "-j", "1"],
                 ["collect", "d.zip", "--assignment", "kl_theory"], ["autograde", "-j", "3"], ["feedback"],
                 ["export", "--to", "g.csv"], ["export", "--format", "generic", "--force"], ["status"],
                 ["formgrader", "--port", "9999", "--no-browser"], ["all", "d.zip", "kl_theory", "--force"],
                 ["all", "d.zip", "kl_theory"], ["demo", "--no-pack"], ["export", "--feedback-zip"],
                 ["export", "--feedback-zip", "out", "--roster", "r.csv"], ["report", "--threshold", "0.7"],
                 ["student-helpers", "out", "--keep", "kl"]):  # fmt: skip
        assert parser.parse_args(argv).func.__name__ == "cmd_" + argv[0].replace("-", "_")


def test_unknown_assignment_is_refused_clearly() -> None:
    with pytest.raises(SystemExit, match="No source notebook .*nope.*assignments with a source: mnist_vae"):
        cli._assignments(Course.default(), ["nope"])
    assert cli._assignments(Course.default(), ["all"]) == Course.default().assignments()


def test_all_prints_the_collect_report_before_grading(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    collected = CollectReport(repairs={"kl_theory": {"7": RepairReport("repaired", ["cells were reordered"])}},
                              names={"7": "Smith"})  # fmt: skip
    printed_before_grading = []

    def grade_class(course, source, assignments, **kw):
        kw["on_collected"](collected)
        printed_before_grading.append(capsys.readouterr().out)
        results = [GradeResult("7", "kl_theory", False, 1.0, error="boom\nRuntimeError: lost")]
        return run.ClassRun(collected, results, Path("grades.csv"), [])

    monkeypatch.setattr(run, "grade_class", grade_class)
    monkeypatch.setattr(report, "score_table", lambda course, a: {"7": {"kl_theory": (3.0, 20.0)}})
    monkeypatch.setenv("VAECOURSE_ALLOW_SYNTHETIC_DATA", "1")  # grading is stubbed: no data needed
    assert cli.main(["all", "downloads.zip", "kl_theory"]) == 0
    assert "7: repaired: cells were reordered" in printed_before_grading[0]
    out = capsys.readouterr().out
    assert "grading events:\n  7/kl_theory: grading failed: RuntimeError: lost" in out
    assert "Smith (7)" in out and "3/20" in out and "wrote grades.csv" in out


def test_export_feedback_zip_defaults_and_errors(monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path) -> None:
    """``export --feedback-zip`` (no folder) packs into the default folder; a bad folder is a clear error."""
    from autograder.pipeline import deliver, export

    parser = cli.build_parser()
    assert parser.parse_args(["export", "--feedback-zip"]).feedback_zip == ""
    assert parser.parse_args(["export"]).feedback_zip is None
    seen = []
    monkeypatch.setattr(export, "export_result", lambda *a, **k: export.Export(Path("g.csv"), None, [], {}, {}))
    monkeypatch.setattr(report, "score_table", lambda course, a: {})

    def packages(course, assignments, folder):  # noqa: ANN001, ANN202
        seen.append(folder)
        raise deliver.DeliveryError("--feedback-zip x: that is a file; give a folder")

    monkeypatch.setattr(deliver, "write_feedback_packages", packages)
    assert cli.main(["export", "--feedback-zip"]) == 1
    assert seen == [None] and "that is a file" in capsys.readouterr().err
