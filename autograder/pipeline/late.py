"""Late submissions: what collect records about each upload, and what lateness costs.

At collect time, :func:`record_uploads` writes ``reports/uploads.json``: for every
(assignment, student) the file that was graded (the latest attempt), whether the course
site marked it late (the ``late`` group of ``course.toml``'s ``named_regexp``, e.g. Canvas's
``LATE_``) and its upload time when the file name carries one (a ``timestamp`` group, as in
nbgrader's own ``FileNameCollectorPlugin``). A known upload time also goes to nbgrader as the
submission's ``timestamp.txt``, so the gradebook and the formgrader show it. File
modification times are not upload times (a zip stores the packer's local time): they are
never used.

:func:`lateness` compares each record with the assignment's due date (``[[assignments]]
due`` in ``course.toml``) and the grace period, and :func:`penalty` applies the ``[late]``
policy: ``none`` (default: lateness is reported, nothing deducted), ``per_day``
(``percent_per_day`` of the assignment's points per started day late, at most
``max_percent``) or ``zero``. A file the site flagged late without an upload time counts as
one started day late (the least the flag can mean).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..course import Course, LatePolicy

UPLOADS = "uploads.json"


@dataclass(frozen=True)
class Upload:
    """One graded upload, as collect saw it."""

    file: str
    late_flag: bool = False
    uploaded: datetime | None = None  # timezone-aware when known

    def to_json(self) -> dict:
        return {"file": self.file, "late_flag": self.late_flag,
                "uploaded": self.uploaded.isoformat() if self.uploaded else None}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> Upload:
        when = data.get("uploaded")
        return cls(str(data.get("file", "")), bool(data.get("late_flag")),
                   datetime.fromisoformat(when) if when else None)  # fmt: skip


def parse_upload_time(text: str) -> datetime | None:
    """An upload time from a file name's ``timestamp`` group (ISO 8601 or
    ``YYYY-MM-DD-HH-MM-SS``; UTC when no offset is given), or None."""
    text = text.strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)[-_T ](\d\d)[-:](\d\d)(?:[-:](\d\d))?", text)
    try:
        when = (datetime(*(int(g or 0) for g in m.groups())) if m  # type: ignore[misc]
                else datetime.fromisoformat(text.replace("Z", "+00:00")))  # fmt: skip
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def upload_of(course: Course, filename: str) -> tuple[str, int, Upload] | None:
    """``(student_id, attempt, Upload)`` from a course-site file name (``course.toml``'s
    ``named_regexp``), or None when the name does not fit."""
    groups = course.config.parse_name(filename)
    if groups is None:
        return None
    attempt = int(groups.get("attempt") or 0)
    when = parse_upload_time(groups.get("timestamp") or "")
    return groups["student_id"], attempt, Upload(Path(filename).name, bool(groups.get("late")), when)


def record_uploads(course: Course, assignment: str, files: list[Path]) -> dict[str, Upload]:
    """Record the graded upload (latest attempt) of each student of ``assignment``.

    Merges into ``reports/uploads.json`` (other assignments' records are kept) and writes
    nbgrader's ``timestamp.txt`` next to each submission whose upload time is known.
    """
    latest: dict[str, tuple[int, Upload]] = {}
    for path in files:
        found = upload_of(course, path.name)
        if found is None:
            continue
        student, attempt, upload = found
        if student not in latest or attempt >= latest[student][0]:
            latest[student] = (attempt, upload)
    uploads = {student: upload for student, (_, upload) in latest.items()}
    for student, upload in uploads.items():
        folder = course.submitted / student / assignment
        if upload.uploaded is not None and folder.is_dir():
            stamp = upload.uploaded.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
            (folder / "timestamp.txt").write_text(stamp)
    _record_due_date(course, assignment)
    table = read_uploads(course)
    table.setdefault(assignment, {}).update(uploads)
    course.reports.mkdir(parents=True, exist_ok=True)
    data = {a: {s: u.to_json() for s, u in sorted(v.items())} for a, v in table.items()}
    (course.reports / UPLOADS).write_text(json.dumps(data, indent=1))
    return uploads


def _record_due_date(course: Course, assignment: str) -> None:
    """The assignment's due date into the gradebook (the formgrader shows it; nbgrader
    computes each submission's lateness from it and ``timestamp.txt``)."""
    from nbgrader.api import Gradebook

    due = course.config.due.get(assignment)
    if due is None or not course.has_gradebook:
        return
    with Gradebook(course.db_url, course.course_id) as gb:
        gb.update_or_create_assignment(assignment, duedate=due.astimezone(UTC).replace(tzinfo=None))


def read_uploads(course: Course) -> dict[str, dict[str, Upload]]:
    """``{assignment: {student: Upload}}`` as recorded by collect ({} before any collect)."""
    path = course.reports / UPLOADS
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {a: {s: Upload.from_json(u) for s, u in v.items()} for a, v in data.items()}


@dataclass(frozen=True)
class Lateness:
    """How late one upload was."""

    late: bool
    days: int  # started days late (0 when on time; 1 for a flag without an upload time)
    reason: str  # "", "flagged by the course site", "uploaded 1 day 2:03:00 after the due date"


def lateness(upload: Upload | None, due: datetime | None, policy: LatePolicy) -> Lateness:
    """Whether ``upload`` is late for ``due`` (with ``policy.grace_minutes``), and by how many
    started days."""
    if upload is None:
        return Lateness(False, 0, "")
    if upload.uploaded is not None and due is not None:
        over = upload.uploaded - due - timedelta(minutes=policy.grace_minutes)
        if over > timedelta(0):
            days = math.ceil(over / timedelta(days=1))
            return Lateness(True, days, f"uploaded {upload.uploaded - due} after the due date")
        if not upload.late_flag:
            return Lateness(False, 0, "")
        # the site says late, the time (with our grace period) says not: trust the time
        return Lateness(False, 0, "flagged late by the course site, but within the grace period")
    if upload.late_flag:
        return Lateness(True, 1, "flagged late by the course site (no upload time: counted as 1 day)")
    return Lateness(False, 0, "")


def penalty(score: float, max_score: float, late: Lateness, policy: LatePolicy) -> float:
    """Points deducted from ``score`` (never more than the score itself)."""
    if not late.late or policy.policy == "none":
        return 0.0
    if policy.policy == "zero":
        return max(score, 0.0)
    percent = min(policy.max_percent, policy.percent_per_day * late.days)
    return min(max(score, 0.0), round(max_score * percent / 100.0, 6))
