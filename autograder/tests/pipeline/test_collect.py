"""collect: course-site downloads -> nbgrader zip_collect -> originals, repaired submissions, report."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.pipeline.collect import assignment_of, collect, parse_name
from autograder.pipeline.grade import scores
from autograder.proofs.build import build_notebook, read_spec, release_of


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Smith_12345_2_mnist_vae.ipynb", {"last_name": "Smith", "student_id": "12345", "attempt": "2", "file_id": "mnist_vae.ipynb"}),
        ("O'Neil_s987_10_Copy of mnist_vae (1).ipynb", {"last_name": "O'Neil", "student_id": "s987", "attempt": "10", "file_id": "Copy of mnist_vae (1).ipynb"}),
        ("Smith_LATE_12345_3_kl_theory.ipynb", {"last_name": "Smith", "student_id": "12345", "attempt": "3", "file_id": "kl_theory.ipynb"}),
    ],
)  # fmt: skip
def test_course_site_names(name: str, expected: dict) -> None:
    info = parse_name(name)
    assert info is not None and info.pop("late") == ("LATE_" if "LATE_" in name else None)
    assert info == expected


def test_the_configured_named_regexp_is_used() -> None:
    """Another course site's names (nbgrader's named_regexp from course.toml): optional groups default."""
    pattern = r"^(?P<student_id>[a-z]+\d+)-(?P<file_id>.+)$"
    assert parse_name("ab123-mnist_vae.ipynb", pattern) == {
        "last_name": "", "attempt": "0", "late": None, "student_id": "ab123", "file_id": "mnist_vae.ipynb"}
    assert parse_name("Smith_12345_2_mnist_vae.ipynb", pattern) is None


def test_course_site_names_rejected_and_routing() -> None:
    assert parse_name("mnist_vae.ipynb") is None
    assert parse_name("notes.txt") is None
    names = ["mnist_vae", "cifar10_vae", "mmd_vae", "celeba_vae", "kl_theory"]
    assert assignment_of("Copy of mnist_vae (1).ipynb", names) == "mnist_vae"
    assert assignment_of("MMD_VAE-final.ipynb", names) == "mmd_vae"
    assert assignment_of("homework.ipynb", names) is None


@pytest.fixture(scope="module")
def collected(toy_gradebook: Course, tmp_path_factory: pytest.TempPathFactory):
    course = toy_gradebook
    spec = read_spec(course, "toy_vae")
    release = release_of(course, "toy_vae")
    reference = nbformat.writes(build_notebook(release, spec, {})).encode()
    blank = nbformat.writes(release).encode()
    patched = build_notebook(release, spec, {"reparameterize": "import numpy\nnumpy.exp = lambda x: x\n"
                                             "def reparameterize(mu, logvar, eps):\n    return mu"})  # fmt: skip
    quiz = nbformat.writes(release_of(course, "toy_quiz")).encode()
    folder = tmp_path_factory.mktemp("downloads")
    (folder / "Smith_111_1_toy_vae.ipynb").write_bytes(blank)  # an older attempt
    (folder / "Smith_111_2_toy_vae.ipynb").write_bytes(reference)
    (folder / "Empty_333_1_toy_vae.ipynb").write_bytes(b"")
    (folder / "Patch_444_1_toy_vae.ipynb").write_text(nbformat.writes(patched))
    (folder / "homework.ipynb").write_bytes(reference)
    (folder / "Lost_555_1_homework.ipynb").write_bytes(reference)
    with zipfile.ZipFile(folder / "more.zip", "w") as z:  # a nested zip, a renamed upload
        z.writestr("Jones_222_1_Copy of toy_quiz (1).ipynb", quiz)
    return course, collect(course, folder, ["toy_vae", "toy_quiz"]), reference


def test_latest_attempt_kept_as_downloaded(collected) -> None:
    course, report, reference = collected
    assert (course.originals / "111" / "toy_vae" / "toy_vae.ipynb").read_bytes() == reference
    assert report.repairs["toy_vae"]["111"].status == "ok"
    assert (course.submitted / "111" / "toy_vae" / "toy_vae.ipynb").is_file()
    assert report.names == {"111": "Smith", "222": "Jones", "333": "Empty", "444": "Patch"}


def test_nested_zip_and_renamed_upload_are_routed(collected) -> None:
    course, report, _ = collected
    assert (course.submitted / "222" / "toy_quiz" / "toy_quiz.ipynb").is_file()
    assert set(report.repairs["toy_quiz"]) == {"222"}


def test_badly_named_files_are_skipped_with_a_reason(collected) -> None:
    _, report, _ = collected
    assert sorted(report.skipped) == [
        "Lost_555_1_homework.ipynb: no assignment id (toy_vae, toy_quiz) in the name",
        "homework.ipynb: the name is not <lastname>_<id>_<attempt>_<file>",
    ]


def test_rejected_file_scores_zero_without_running(collected) -> None:
    course, report, _ = collected
    rep = report.repairs["toy_vae"]["333"]
    assert rep.status == "rejected" and "empty" in rep.notes[0]
    assert not (course.submitted / "333" / "toy_vae" / "toy_vae.ipynb").exists()
    cells = scores(course, "toy_vae")["333"]
    assert {c.auto_score for c in cells.values() if not c.manual} == {0}


def test_suspicious_code_flagged_and_report_written(collected) -> None:
    course, report, _ = collected
    assert any("monkeypatches a library" in f for f in report.flags["toy_vae"]["444"])
    assert report.flags["toy_vae"]["111"] == []
    saved = json.loads((course.reports / "collect.json").read_text())
    assert saved["repairs"]["toy_vae"]["333"]["status"] == "rejected"
    assert saved["skipped"] == report.skipped


def test_only_sends_every_file_to_one_assignment(toy_gradebook: Course, tmp_path: Path) -> None:
    course = toy_gradebook.with_work(tmp_path / "work")
    from autograder.pipeline.grade import prepare_gradebook

    prepare_gradebook(course, ["toy_quiz"])
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "Ng_777_1_final.ipynb").write_text(nbformat.writes(release_of(course, "toy_quiz")))
    report = collect(course, tmp_path / "in", ["toy_quiz"], only="toy_quiz")
    assert report.skipped == [] and set(report.repairs["toy_quiz"]) == {"777"}
