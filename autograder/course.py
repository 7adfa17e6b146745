"""Where the course's files live, and the course-wide settings every command shares.

One :class:`Course` describes a course on disk: the instructor sources (``solutions/``),
the student releases (``notebooks/``), the sample submissions (``autograder/samples/``) and
the working directory with the student data (``autograder/course/`` by default, git-ignored;
``VAECOURSE_COURSE_DIR`` moves it). :func:`autograder.pipeline.settings.apply_settings` turns
it into nbgrader settings; ``autograder/nbgrader_config.py`` and every command of
``python -m autograder`` start from :meth:`Course.default`, so the plain ``nbgrader`` commands
and ours see the same course. (Issue 11's ``course.toml``, read by both, belongs in
:meth:`Course.default`.) This module imports nothing else of the autograder.

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

REPO = Path(__file__).resolve().parent.parent
#: the course's assignments (nbgrader ids), in course order
ASSIGNMENTS: tuple[str, ...] = ("mnist_vae", "cifar10_vae", "mmd_vae", "celeba_vae", "kl_theory")
COURSE_DIR_ENV = "VAECOURSE_COURSE_DIR"
CELL_TIMEOUT_ENV = "VAECOURSE_CELL_TIMEOUT"
#: Seconds one cell may run while grading (grading profile: cells take seconds, training
#: cells in the ``ci`` profile well under 20 s even with two workers per core).
DEFAULT_CELL_TIMEOUT = 60
#: The profile the kernels grade in (tiny data, few steps).
GRADING_PROFILE = "ci"
#: Environment of every grading kernel (the grader's ``VAECOURSE_DATA`` is added when set).
KERNEL_ENV: dict[str, str] = {
    "VAECOURSE_PROFILE": GRADING_PROFILE,
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "PYTHONWARNINGS": "ignore",
}
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

    def grading_release_notebook(self, assignment: str) -> Path:
        """The release generated into the scratch folder with the gradebook."""
        return self.grading_release / assignment / f"{assignment}.ipynb"

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
