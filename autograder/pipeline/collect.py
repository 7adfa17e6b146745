"""Import course-site downloads with nbgrader's ``zip_collect``, then repair them.

The course site names every download ``<lastname>_<id>_<attempt>_<file>.ipynb`` (``<file>`` is
what the student uploaded, normally ``<assignment>.ipynb``). :func:`collect`:

1. takes a folder or a ``.zip`` of such files (also nested zips), routes each file to its
   assignment by the assignment id in ``<file>`` (or to ``--assignment``), and puts them in
   nbgrader's ``downloaded/<assignment>/archive/``;
2. runs nbgrader's ``ZipCollectApp`` per assignment with :class:`CourseSiteCollector`, which
   maps file names to student ids like nbgrader's ``FileNameCollectorPlugin`` (its
   ``named_regexp``, from ``course.toml``) and keeps only each student's latest attempt;
3. keeps each file exactly as downloaded in ``originals/`` and writes the repaired
   notebook (:mod:`autograder.pipeline.repair`) to ``submitted/``, with a report per
   student and the scan's flags (:mod:`autograder.pipeline.scan`);
4. records each graded upload's late flag and upload time (:mod:`autograder.pipeline.late`).

Files whose name does not fit, or whose assignment cannot be told, are listed and skipped.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.plugins import FileNameCollectorPlugin

from ..course import Course, CourseConfig, parse_submission_name
from ..nb.spec import AssignmentSpec
from .grade import zero_out
from .late import record_uploads
from .repair import RepairReport, repair
from .scan import record_flags, scan_notebook
from .settings import nbgrader_config
from .student_build import fill_in_api


def parse_name(filename: str, named_regexp: str | None = None) -> dict[str, str] | None:
    """``{student_id, file_id, last_name, attempt, late}`` from a course-site file name, or None.

    ``named_regexp`` is nbgrader's ``FileNameCollectorPlugin.named_regexp``, from
    ``course.toml`` (``[submissions] named_regexp``; the default when None). Optional groups
    the pattern lacks come back as ``last_name=""``, ``attempt="0"``, ``late=None``.
    """
    return parse_submission_name(filename, named_regexp or CourseConfig.named_regexp)


def assignment_of(file_id: str, assignments: list[str]) -> str | None:
    """The assignment id named in an uploaded file name (``Copy of mnist_vae (1).ipynb``)."""
    stem = Path(file_id).stem.lower()
    hits = [a for a in assignments if a.lower() in stem]
    return max(hits, key=len) if hits else None


class CourseSiteCollector(FileNameCollectorPlugin):
    """nbgrader zip_collect plugin: course-site names, latest attempt per student."""

    def collect(self, submitted_file: str) -> dict | None:
        if Path(submitted_file).suffix not in self.valid_ext:
            return None
        info = parse_name(submitted_file, self.named_regexp)
        if info is None:
            self.log.warning("Skipped a file whose name does not fit the course site's: %s", submitted_file)
            return None
        latest = max(
            int(other["attempt"])
            for p in Path(submitted_file).parent.iterdir()
            if (other := parse_name(p.name, self.named_regexp)) and other["student_id"] == info["student_id"]
        )
        if int(info["attempt"]) != latest:
            self.log.info("Skipped attempt %s of %s (attempt %s is newer)", info["attempt"], info["student_id"], latest)
            return None
        assignment = self.parent.coursedir.assignment_id if self.parent else ""
        return {"student_id": info["student_id"], "file_id": f"{assignment}.ipynb",
                "last_name": info["last_name"]}  # fmt: skip


@dataclass
class CollectReport:
    """What collect did: per assignment and student, the repair report; skipped files."""

    repairs: dict[str, dict[str, RepairReport]] = field(default_factory=dict)
    flags: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "repairs": {a: {s: {"status": r.status, "notes": r.notes} for s, r in v.items()}
                        for a, v in self.repairs.items()},
            "flags": self.flags,
            "skipped": self.skipped,
            "names": self.names,
        }  # fmt: skip


def _files(source: Path, staging: Path) -> list[Path]:
    """Every file under ``source`` (a folder or a zip), zips extracted into ``staging``."""
    if source.is_file() and zipfile.is_zipfile(source):
        target = staging / source.stem
        _safe_extract(source, target)
        return _files(target, staging / f"{source.stem}.inner")
    if source.is_file():
        return [source]
    found: list[Path] = []
    for path in sorted(source.rglob("*")):
        if path.is_file() and zipfile.is_zipfile(path) and path.suffix == ".zip":
            found += _files(path, staging / path.stem)
        elif path.is_file() and not path.name.startswith("."):
            found.append(path)
    return found


def _safe_extract(archive: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as z:
        for member in z.infolist():
            name = Path(member.filename)
            if member.is_dir() or name.is_absolute() or ".." in name.parts:
                continue
            out = target / name.name
            with z.open(member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)


def _zip_collect(course: Course, assignment: str) -> None:
    from nbgrader.apps import ZipCollectApp

    config = nbgrader_config(course, release=course.grading_release)
    config.ZipCollectApp.collector_plugin = CourseSiteCollector
    config.CourseSiteCollector.named_regexp = course.config.named_regexp
    config.ZipCollectApp.force = True
    config.ExtractorPlugin.force = True
    config.CourseDirectory.assignment_id = assignment
    app = ZipCollectApp(config=config)
    app.log.setLevel(logging.ERROR)
    app.initialize([])
    app.coursedir.assignment_id = assignment
    app.start()


def collect(course: Course, source: Path, assignments: list[str], only: str | None = None) -> CollectReport:
    """Import downloads from ``source`` for ``assignments``; repair; return the report.

    ``only`` sends every notebook to that assignment whatever its file name says.
    """
    report = CollectReport()
    with tempfile.TemporaryDirectory(prefix="vaecourse-collect-") as staging:
        files = _files(Path(source), Path(staging))
        routed: dict[str, list[Path]] = {a: [] for a in assignments}
        for path in files:
            info = parse_name(path.name, course.config.named_regexp)
            if info is None:
                report.skipped.append(f"{path.name}: the name is not <lastname>_<id>_<attempt>_<file>")
                continue
            assignment = only or assignment_of(info["file_id"], assignments)
            if assignment is None:
                report.skipped.append(f"{path.name}: no assignment id ({', '.join(assignments)}) in the name")
                continue
            routed[assignment].append(path)
            report.names[info["student_id"]] = info["last_name"]
        for assignment, paths in routed.items():
            if not paths:
                continue
            archive = course.downloaded / assignment / "archive"
            if archive.exists():
                shutil.rmtree(archive)
            archive.mkdir(parents=True)
            for path in paths:
                shutil.copy(path, archive / path.name)
            _zip_collect(course, assignment)
            record_uploads(course, assignment, paths)  # late flag, upload time (issue 13)
            for student in {parse_name(p.name, course.config.named_regexp)["student_id"] for p in paths}:  # type: ignore[index]
                submitted = course.submitted / student / assignment / f"{assignment}.ipynb"
                if submitted.is_file():  # keep the download exactly as it came
                    original = course.originals / student / assignment / submitted.name
                    original.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(submitted, original)
    _record_names(course, report.names)
    for assignment in assignments:
        repairs, flags = repair_all(course, assignment)
        if repairs:
            report.repairs[assignment] = repairs
            report.flags[assignment] = flags
            record_flags(course, assignment, flags)  # for the gradebook's flag after autograde
    course.reports.mkdir(parents=True, exist_ok=True)
    (course.reports / "collect.json").write_text(json.dumps(report.to_json(), indent=1))
    return report


def _record_names(course: Course, names: dict[str, str]) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        for student, last_name in names.items():
            gb.update_or_create_student(student, last_name=last_name)


def repair_all(course: Course, assignment: str) -> tuple[dict[str, RepairReport], dict[str, list[str]]]:
    """Repair every collected submission of ``assignment`` (from ``originals/``)."""
    release = nbformat.read(course.grading_release_notebook(assignment), as_version=4)
    spec = AssignmentSpec.read(course.source_notebook(assignment))
    reference = {gid: spec.reference_source(gid) for gid in spec.solutions}
    others = {
        a: nbformat.read(p, as_version=4)
        for a in course.assignments() if a != assignment
        and (p := course.grading_release_notebook(a)).is_file()
    }  # fmt: skip
    repairs: dict[str, RepairReport] = {}
    flags: dict[str, list[str]] = {}
    fill_ins = fill_in_api(course, assignment) if (course.root / "helpers" / "pyproject.toml").is_file() else frozenset()
    if not course.submitted.is_dir():
        return repairs, flags
    for folder in sorted(course.submitted.glob(f"*/{assignment}")):
        student = folder.parent.name
        submitted = folder / f"{assignment}.ipynb"
        original = course.originals / student / assignment / f"{assignment}.ipynb"
        if not original.is_file():
            continue
        notebook, rep = repair(original.read_bytes(), release, reference, others)
        size = original.stat().st_size
        if size > course.config.max_megabytes * 1e6:  # graded all the same; the site may refuse it
            rep.notes.append(f"the file is {size / 1e6:.1f} MB, more than the course site's "
                             f"{course.config.max_megabytes:g} MB ([submissions] max_megabytes)")  # fmt: skip
        repairs[student] = rep
        if rep.status == "rejected":  # nothing to run: zero through the gradebook
            submitted.unlink(missing_ok=True)
            zero_out(course, assignment, student, "; ".join(rep.notes))
            flags[student] = []
            continue
        nbformat.write(notebook, submitted)
        flags[student] = scan_notebook(notebook, release, fill_ins)
    return repairs, flags
