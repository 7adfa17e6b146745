"""Feedback delivered: the feedback HTML packed for the course site (``export --feedback-zip``).

nbgrader's ``generate_feedback`` writes ``<work>/feedback/<student>/<assignment>/<assignment>.html``
and stops there. :func:`write_feedback_packages` packs those files two ways, into one folder
(default ``<work>/reports/feedback-upload/``):

* ``canvas-<assignment>.zip`` per assignment, for Canvas's *Re-upload submissions* (the
  assignment's page in Canvas, or SpeedGrader's menu). Canvas names each file of its
  *Download submissions* zip ``<name>[_LATE]_<user id>_<file id>_<uploaded file name>``
  (canvas-lms ``ContentZipper#get_filename``, ``add_upload_submission``), and a re-uploaded
  zip is matched back by the first two all-digit ``_``-separated fields of each file's name:
  the user and the id of a file of that user's submission (``infer_comment_context_from_filename``);
  Canvas then adds a comment "See attached file" to that submission with the file attached
  under the name of the student's upload. So every entry here is the student's file name
  exactly as downloaded (collect recorded it in ``reports/uploads.json``) with ``.html``
  appended: Canvas finds user and file as in the download, and stores the feedback as HTML.
  One zip per assignment, because Canvas re-uploads per assignment (a file of another
  assignment would be listed as ignored).
* ``by-student/<student id>/<assignment>.html``: a folder per student, for an LMS (or a
  JupyterHub's home folders) that takes files per person.

Only students with both feedback HTML and a recorded upload get a Canvas entry; the others
are listed (e.g. feedback written for a student collected under another naming scheme).
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course
from .late import read_uploads

#: what is appended to the downloaded file's name in the Canvas zip
CANVAS_SUFFIX = ".html"


class DeliveryError(RuntimeError):
    """Nothing to deliver, or the target cannot be written (the message says what to do)."""


@dataclass
class FeedbackPackages:
    """What :func:`write_feedback_packages` wrote."""

    folder: Path
    canvas: dict[str, Path] = field(default_factory=dict)  # assignment -> its Canvas zip
    by_student: Path | None = None
    files: int = 0  # feedback files packed (per assignment and student)
    missing_upload: list[str] = field(default_factory=list)  # "<student>/<assignment>": no course-site name
    missing_feedback: list[str] = field(default_factory=list)  # graded but no feedback HTML
    stale: list[str] = field(default_factory=list)  # feedback older than the gradebook


def canvas_name(download_name: str) -> str:
    """The name of a feedback file in the Canvas re-upload zip: the file's name as Canvas
    let it be downloaded, with ``.html`` appended."""
    return Path(download_name).name + CANVAS_SUFFIX


def feedback_file(course: Course, student: str, assignment: str) -> Path:
    """Where nbgrader's ``generate_feedback`` writes one student's feedback."""
    return course.feedback / student / assignment / f"{assignment}.html"


def write_feedback_packages(course: Course, assignments: list[str], folder: Path | None = None) -> FeedbackPackages:
    """Write the Canvas zips and the per-student folders of ``assignments`` into ``folder``.

    Raises:
        DeliveryError: ``folder`` is a file, or no assignment has any feedback yet.
    """
    folder = Path(folder) if folder else course.reports / "feedback-upload"
    if folder.exists() and not folder.is_dir():
        raise DeliveryError(f"--feedback-zip {folder}: that is a file; give a folder (the zips go inside it)")
    uploads = read_uploads(course)
    result = FeedbackPackages(folder)
    by_student = folder / "by-student"
    graded = {(a, p.parent.parent.name) for a in assignments for p in course.autograded.glob(f"*/{a}/{a}.ipynb")}
    found = {(a, p.parent.parent.name): p for a in assignments for p in course.feedback.glob(f"*/{a}/{a}.html")}
    if not found:
        raise DeliveryError(f"No feedback HTML under {course.feedback} for {', '.join(assignments)}: "
                            "run python -m autograder feedback first")  # fmt: skip
    if by_student.exists():
        shutil.rmtree(by_student)
    gradebook_time = course.db_path.stat().st_mtime if course.db_path.is_file() else 0.0
    result.missing_feedback = sorted(f"{s}/{a}" for a, s in graded - set(found))
    for assignment in assignments:
        entries = sorted((s, p) for (a, s), p in found.items() if a == assignment)
        if not entries:
            continue
        target = folder / f"canvas-{assignment}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
            for student, path in entries:
                data = path.read_bytes()
                if path.stat().st_mtime < gradebook_time:
                    result.stale.append(f"{student}/{assignment}")
                out = by_student / student / f"{assignment}.html"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                result.files += 1
                upload = uploads.get(assignment, {}).get(student)
                if upload is None or not upload.file:
                    result.missing_upload.append(f"{student}/{assignment}")
                    continue
                z.writestr(canvas_name(upload.file), data)
        result.canvas[assignment] = target
    result.by_student = by_student
    return result


def format_packages(result: FeedbackPackages) -> str:
    """What the instructor reads after ``export --feedback-zip``."""
    lines = [f"feedback packed: {result.files} files under {result.folder}"]
    for path in result.canvas.values():
        with zipfile.ZipFile(path) as z:
            n = len(z.namelist())
        lines.append(f"  {path.name}: {n} files (Canvas: the assignment's page > Re-upload submissions)")
    if result.by_student is not None:
        lines.append(f"  {result.by_student.name}/<student id>/<assignment>.html: one folder per student")
    if result.missing_upload:
        lines.append(f"not in the Canvas zips (no course-site file name recorded at collect): "
                     f"{', '.join(result.missing_upload)}")  # fmt: skip
    if result.missing_feedback:
        lines.append(f"graded but without feedback HTML (run python -m autograder feedback): "
                     f"{', '.join(result.missing_feedback)}")  # fmt: skip
    if result.stale:
        lines.append(f"WARNING: {len(result.stale)} feedback files are older than the gradebook (grades changed "
                     "since): run python -m autograder feedback, then export --feedback-zip again")  # fmt: skip
    return "\n".join(lines)
