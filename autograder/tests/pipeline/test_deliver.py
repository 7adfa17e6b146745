"""Feedback delivered: the Canvas re-upload zips and the per-student folders, read back.

On the toy demo's class (session fixture ``toy_demo``: course-site downloads collected,
autograded, feedback written): every feedback file is in its assignment's Canvas zip under
the download's own name plus ``.html``, and that name parses back, under the course's
``named_regexp`` and under Canvas's own rule for re-uploads, to the same student, the same
uploaded file and the same assignment.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from autograder.course import REPO, CourseConfig
from autograder.pipeline.collect import assignment_of
from autograder.pipeline.deliver import (
    DeliveryError,
    canvas_name,
    format_packages,
    write_feedback_packages,
)

TOY = ["toy_vae", "toy_quiz"]


def canvas_reupload_ids(name: str) -> tuple[str, str] | None:
    """Canvas's rule for a re-uploaded file (canvas-lms ``infer_comment_context_from_filename``):
    the first two all-digit ``_``-separated fields are the user id and the id of a file of
    that user's submission; a name starting with ``._`` is ignored."""
    if name.startswith("._"):
        return None
    digits = [part for part in name.split("_") if part.isdigit()]
    return (digits[0], digits[1]) if len(digits) >= 2 else None


def test_canvas_zip_names_parse_back_to_the_same_student_and_assignment(toy_demo, tmp_path: Path) -> None:
    course = toy_demo.work
    uploads = json.loads((course.reports / "uploads.json").read_text())
    packed = write_feedback_packages(course, TOY, tmp_path / "upload")
    config = CourseConfig.load(REPO / "course.toml")  # the term's course-site naming
    assert set(packed.canvas) == set(TOY) and not packed.missing_upload and not packed.stale
    seen = 0
    for assignment, path in packed.canvas.items():
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
            names = z.namelist()
            by_student = {s: u for s, u in uploads[assignment].items()}
            assert len(names) == len(set(names)) == len(list(course.feedback.glob(f"*/{assignment}/*.html")))
            for name in names:
                info = config.parse_name(name)
                assert info is not None, name
                student = info["student_id"]
                assert assignment_of(info["file_id"], TOY) == assignment
                assert name == by_student[student]["file"] + ".html"  # the download's own name
                original = config.parse_name(by_student[student]["file"])
                assert canvas_reupload_ids(name) == (student, original["attempt"])
                assert z.read(name) == (course.feedback / student / assignment / f"{assignment}.html").read_bytes()
                assert b"<html" in z.read(name)[:2000].lower()
                seen += 1
    assert seen == packed.files
    # the per-student layout holds the same files
    for html in course.feedback.glob("*/*/*.html"):
        student, assignment = html.parent.parent.name, html.parent.name
        assert (packed.by_student / student / f"{assignment}.html").read_bytes() == html.read_bytes()
    text = format_packages(packed)
    assert "canvas-toy_vae.zip" in text and "Re-upload submissions" in text


@pytest.mark.parametrize("download", [
    "lovelaceada_12345_678_mnist_vae.ipynb",
    "lovelaceada_LATE_12345_678_mnist_vae.ipynb",
    "vanderberg_12345_678_Copy of mnist_vae (1).ipynb",
])
def test_canvas_style_download_names_survive_the_round_trip(download: str) -> None:
    """Names as Canvas writes them (lower-case sortable name without punctuation, ``LATE``,
    user id, file id, the uploaded name) keep user, file and assignment."""
    config = CourseConfig.load(REPO / "course.toml")
    name = canvas_name(download)
    assert name.endswith(".html") and name.startswith(download)
    before, after = config.parse_name(download), config.parse_name(name)
    assert after["student_id"] == before["student_id"] == "12345"
    assert bool(after["late"]) == ("LATE" in download)
    assert assignment_of(after["file_id"], ["mnist_vae", "cifar10_vae"]) == "mnist_vae"
    assert canvas_reupload_ids(name) == ("12345", "678")


def test_feedback_zip_errors_say_what_to_do(toy_gradebook, tmp_path: Path) -> None:
    course = toy_gradebook.with_work(tmp_path / "empty")
    with pytest.raises(DeliveryError, match="run python -m autograder feedback first"):
        write_feedback_packages(course, TOY)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DeliveryError, match="that is a file"):
        write_feedback_packages(course, TOY, tmp_path / "file")
