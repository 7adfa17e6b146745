"""Where the course's files live, and the nbgrader configuration built from that.

One :class:`Course` describes a course on disk: the instructor sources (``solutions/``),
the student releases (``notebooks/``), the sample submissions (``autograder/samples/``) and
the working directory with the student data (``autograder/course/`` by default, git-ignored;
``VAECOURSE_COURSE_DIR`` moves it). :func:`apply_settings` turns it into nbgrader settings;
``autograder/nbgrader_config.py`` and every command of ``python -m autograder`` use it, so the
plain ``nbgrader`` commands and ours see the same configuration.

Working directory layout (all outside git)::

    <work>/gradebook.db          nbgrader's gradebook (sqlite)
    <work>/release/<a>/          scratch release used to (re)build the gradebook
    <work>/downloaded/<a>/archive|extracted   nbgrader zip_collect's folders
    <work>/originals/<s>/<a>/    each submission exactly as downloaded
    <work>/submitted/<s>/<a>/    repaired submissions (nbgrader's input)
    <work>/autograded/<s>/<a>/   nbgrader's output
    <work>/feedback/<s>/<a>/     feedback HTML
    <work>/reports/              repair, scan and grading reports (JSON), grades.csv
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from traitlets.config import Config

from . import ASSIGNMENTS

REPO = Path(__file__).resolve().parent.parent
COURSE_DIR_ENV = "VAECOURSE_COURSE_DIR"
CELL_TIMEOUT_ENV = "VAECOURSE_CELL_TIMEOUT"
#: Seconds one cell may run while grading (grading profile: cells take seconds, training
#: cells in the ``ci`` profile well under 20 s even with two workers per core).
DEFAULT_CELL_TIMEOUT = 60
#: The profile the kernels grade in (tiny data, few steps).
GRADING_PROFILE = "ci"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"


@dataclass(frozen=True)
class Course:
    """A course on disk. All paths are absolute."""

    root: Path
    source: Path
    release: Path
    work: Path
    samples: Path
    course_id: str = "vae-course"

    @classmethod
    def default(cls) -> Course:
        """The repository's course; the work folder from ``VAECOURSE_COURSE_DIR``."""
        work = os.environ.get(COURSE_DIR_ENV, "").strip()
        return cls(
            root=REPO,
            source=REPO / "solutions",
            release=REPO / "notebooks",
            work=Path(work).expanduser().resolve() if work else REPO / "autograder" / "course",
            samples=REPO / "autograder" / "samples",
        )

    def with_work(self, work: Path) -> Course:
        """The same course with another working directory (tests, sample grading)."""
        return replace(self, work=Path(work).resolve())

    # ---- working folders -------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.work / "gradebook.db"

    @property
    def db_url(self) -> str:
        # timeout: parallel grading workers share the sqlite file and wait for its lock
        return f"sqlite:///{self.db_path}?timeout=120"

    @property
    def submitted(self) -> Path:
        return self.work / "submitted"

    @property
    def autograded(self) -> Path:
        return self.work / "autograded"

    @property
    def feedback(self) -> Path:
        return self.work / "feedback"

    @property
    def downloaded(self) -> Path:
        return self.work / "downloaded"

    @property
    def originals(self) -> Path:
        return self.work / "originals"

    @property
    def reports(self) -> Path:
        return self.work / "reports"

    @property
    def grading_release(self) -> Path:
        """Scratch release folder: the gradebook is built from the sources into it."""
        return self.work / "release"

    # ---- assignments -----------------------------------------------------------------
    def source_notebook(self, assignment: str) -> Path:
        return self.source / assignment / f"{assignment}.ipynb"

    def release_notebook(self, assignment: str) -> Path:
        return self.release / assignment / f"{assignment}.ipynb"

    def assignments(self) -> list[str]:
        """Assignments with a source notebook, in course order (unknown ones last, sorted)."""
        found = sorted(
            p.name for p in self.source.glob("*") if (p / f"{p.name}.ipynb").is_file()
        ) if self.source.is_dir() else []
        ordered = [a for a in ASSIGNMENTS if a in found]
        return ordered + [a for a in found if a not in ordered]

    def require(self, assignment: str) -> None:
        """Fail clearly when an assignment has no source notebook."""
        if not self.source_notebook(assignment).is_file():
            known = ", ".join(self.assignments()) or "none yet"
            raise SystemExit(
                f"No source notebook {self.source_notebook(assignment)}; "
                f"assignments with a source: {known}."
            )


def cell_timeout() -> int:
    """Per-cell grading timeout in seconds (``VAECOURSE_CELL_TIMEOUT`` overrides)."""
    value = os.environ.get(CELL_TIMEOUT_ENV, "").strip()
    return int(value) if value else DEFAULT_CELL_TIMEOUT


_REGEX_SPECIAL = set("+*?()[]{}^$|\\")


def check_folder_names(course: Course, *extra: Path) -> None:
    """Refuse folders that nbgrader cannot use, with a message that says why.

    nbgrader matches the submitted and autograded notebooks' paths with regular expressions
    built from these absolute folders without escaping them, so a folder name holding, e.g.,
    ``+`` or ``(`` would make every submission "not found".
    """
    for path in (course.source, course.release, course.submitted, course.autograded,
                 course.feedback, *extra):
        bad = sorted(_REGEX_SPECIAL & set(str(path)))
        if bad:
            raise ValueError(
                f"nbgrader cannot use the folder {path}: its name contains {' '.join(bad)}, "
                "which nbgrader reads as regular-expression syntax. Move the course or set "
                f"{COURSE_DIR_ENV} to a folder whose path has none of {' '.join(sorted(_REGEX_SPECIAL))}."
            )


def apply_settings(c: Config, course: Course, *, release: Path | None = None) -> Config:
    """Write the course's nbgrader settings into ``c`` and return it.

    ``release`` replaces the release folder (grading builds its gradebook from the sources
    into a scratch folder, so it never touches the committed ``notebooks/``).
    """
    from .execute import GuardedExecute  # nbgrader imports are heavy: only when needed

    check_folder_names(course, *([release] if release else []))
    course.work.mkdir(parents=True, exist_ok=True)
    cd = c.CourseDirectory
    # absolute folders: nbgrader joins them onto its root, which leaves absolute paths as is
    cd.root = str(course.root)
    cd.course_id = course.course_id
    cd.source_directory = str(course.source)
    cd.release_directory = str(release or course.release)
    cd.submitted_directory = str(course.submitted)
    cd.autograded_directory = str(course.autograded)
    cd.feedback_directory = str(course.feedback)
    cd.db_url = course.db_url
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = TEXT_STUB
    # a deleted test cell comes back from the gradebook instead of being lost
    c.OverwriteCells.add_missing_cells = True
    # zip_collect joins this one onto the root as text: it must be relative
    c.ZipCollectApp.downloaded_directory = os.path.relpath(course.downloaded, course.root)
    # execution: our Execute (restarts dead/hung kernels, caps output, checks that every
    # test really ran) in a sandboxed kernel, with a per-cell timeout for the ci profile
    c.Autograde.autograde_preprocessors = [
        GuardedExecute if p.__name__ == "Execute" else p
        for p in _default_autograde_preprocessors()
    ]
    c.GuardedExecute.timeout = cell_timeout()
    c.GuardedExecute.startup_timeout = 180  # a busy machine starts kernels slowly
    # feedback shows the student's outputs and the test messages, not the hidden test code
    c.GenerateFeedback.preprocessors = _feedback_preprocessors()
    c.LimitOutput.max_lines = 200
    c.LimitOutput.max_traceback = 60
    return c


def _feedback_preprocessors() -> list[type]:
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    return [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]


def _default_autograde_preprocessors() -> list[type]:
    from nbgrader.converters.autograde import Autograde

    return list(Autograde.class_traits()["autograde_preprocessors"].make_dynamic_default())


def nbgrader_config(course: Course, *, release: Path | None = None) -> Config:
    """A fresh traitlets ``Config`` with the course's settings."""
    return apply_settings(Config(), course, release=release)
