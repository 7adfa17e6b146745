"""Where the course's files live, and the course-wide settings every command shares.

One :class:`Course` describes a course on disk: the instructor sources (``solutions/``),
the student releases (``notebooks/``), the sample submissions (``autograder/samples/``) and
the working directory with the student data (``autograder/course/`` by default, git-ignored;
``VAECOURSE_COURSE_DIR`` moves it). :func:`autograder.pipeline.settings.apply_settings` turns
it into nbgrader settings; ``autograder/nbgrader_config.py`` and every command of
``python -m autograder`` start from :meth:`Course.default`, so the plain ``nbgrader`` commands
and ours see the same course. The instructor's settings for a term (course id, the
repository and tag students install from, the submission file names, the late policy, the
assignments with their due dates) are in ``course.toml`` at the root, read here into
:class:`CourseConfig` (``VAECOURSE_COURSE_TOML`` points at another file). This module imports
nothing else of the autograder.

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
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: the course's assignments (nbgrader ids), in course order
ASSIGNMENTS: tuple[str, ...] = ("mnist_vae", "cifar10_vae", "mmd_vae", "celeba_vae", "kl_theory")
COURSE_DIR_ENV = "VAECOURSE_COURSE_DIR"
COURSE_TOML_ENV = "VAECOURSE_COURSE_TOML"
#: a shared gradebook (e.g. ``postgresql://grader@db/vae``) instead of ``<work>/gradebook.db``
DB_URL_ENV = "VAECOURSE_DB_URL"
#: the driver a ``postgresql://`` URL without one means: psycopg 3 (pinned in requirements.txt),
#: whatever SQLAlchemy's default (psycopg2 before SQLAlchemy 2.1); ``postgresql+psycopg2://``
#: and other explicit drivers are kept
POSTGRES_DRIVER = "postgresql+psycopg://"
LATE_POLICIES = ("none", "per_day", "zero")
CELL_TIMEOUT_ENV = "VAECOURSE_CELL_TIMEOUT"
#: Seconds one cell may run while grading (grading profile: cells take seconds, training
#: cells in the ``ci`` profile well under 20 s even with two workers per core).
DEFAULT_CELL_TIMEOUT = 60
#: The profile the kernels grade in (tiny data, few steps).
GRADING_PROFILE = "ci"
#: Optimizer steps per training call while grading: no test depends on how well a model
#: trained (they check shapes, the objects training builds, and step counts up to this cap,
#: ``vaecourse.config.max_steps``), so one step builds everything later cells use; and that
#: step runs eagerly (``VAECOURSE_EAGER``): tracing it with tf.function would cost more.
GRADING_MAX_STEPS = 1
#: IPython settings of every grading kernel. Figures are not drawn while grading: no test
#: reads one, and after one training step they would only show untrained models; a figure
#: appears in feedback as its one-line description (``<Figure size 640x480 with 1 Axes>``).
#: Graders see the figures of the student's own run next to each written answer. Drawing
#: them cost 3-5 CPU-s per student's series. Nor are they redrawn after each cell:
#: matplotlib's post-cell hook renders every figure still open and changed (interactive
#: mode), 0.1 CPU-s a figure, before the inline backend shows it; the exec lines remove that
#: hook (no name is left in the notebook's namespace). Remove the lines to draw them again.
GRADING_IPYTHON_CONFIG: tuple[str, ...] = (
    "c.InlineBackend.figure_formats = set()",
    "c.InteractiveShellApp.exec_lines = ["
    "'import matplotlib.pyplot as _vaecourse_plt', "
    "'_vaecourse_plt.install_repl_displayhook()', "
    "'get_ipython().events.unregister(\"post_execute\", _vaecourse_plt._draw_all_if_interactive)', "
    "'del _vaecourse_plt']",
)
#: Environment of every grading kernel (the grader's ``VAECOURSE_DATA`` is added when set).
KERNEL_ENV: dict[str, str] = {
    "VAECOURSE_PROFILE": GRADING_PROFILE,
    "VAECOURSE_MAX_STEPS": str(GRADING_MAX_STEPS),
    "VAECOURSE_EAGER": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "PYTHONWARNINGS": "ignore",
}
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"


class CourseConfigError(ValueError):
    """``course.toml`` is missing a setting or holds a wrong one (the message says which)."""


@dataclass(frozen=True)
class LatePolicy:
    """What a late submission costs (``[late]`` in ``course.toml``)."""

    policy: str = "none"
    percent_per_day: float = 10.0
    max_percent: float = 100.0
    grace_minutes: float = 0.0


@dataclass(frozen=True)
class CourseConfig:
    """The instructor's settings of one term, as read from ``course.toml``."""

    course_id: str = "vae-course"
    title: str = "Variational Autoencoders"
    term: str = ""
    repository: str = "https://github.com/your-org/your-course"  # placeholder: course.toml sets it
    ref: str = "main"
    subdirectory: str = "helpers"
    named_regexp: str = (
        r"^(?P<last_name>[^_]+)_(?P<late>LATE_)?(?P<student_id>[A-Za-z0-9.-]+)"
        r"_(?P<attempt>\d+)_(?P<file_id>.+)$"
    )
    late: LatePolicy = field(default_factory=LatePolicy)
    #: assignment id -> due date (timezone-aware), in course order
    due: dict[str, datetime | None] = field(default_factory=dict)
    #: assignment id -> its column in the LMS's gradebook (``lms_column``; e.g. Canvas's
    #: ``"MNIST VAE (123456)"``); the export uses the assignment id where none is given
    lms_columns: dict[str, str] = field(default_factory=dict)
    #: assignments marked ``extra_credit = true``: their points count towards a student's total
    #: but not towards the points possible (Canvas: 0 points possible; generic: not in the
    #: denominator of ``percent``)
    extra_credit: frozenset[str] = frozenset()
    #: the largest upload the course site takes (``[submissions] max_megabytes``), checked by
    #: every notebook's pre-submission cell and reported by collect
    max_megabytes: float = 25.0
    path: Path | None = None

    @property
    def assignments(self) -> tuple[str, ...]:
        """The configured assignments in course order."""
        return tuple(self.due)

    def parse_name(self, filename: str) -> dict[str, str | None] | None:
        """The groups of a course-site file name under this term's ``named_regexp``
        (:func:`parse_submission_name`), or None when it does not fit."""
        return parse_submission_name(filename, self.named_regexp)

    @property
    def pip_url(self) -> str:
        """What a student's setup cell installs: the student build at the term's tag."""
        url = self.repository.rstrip("/")
        if not url.endswith(".git"):
            url += ".git"
        sub = f"#subdirectory={self.subdirectory}" if self.subdirectory else ""
        return f"vaecourse @ git+{url}@{self.ref}{sub}"

    @classmethod
    def load(cls, path: Path) -> CourseConfig:
        """Read and check ``course.toml``; :class:`CourseConfigError` says what is wrong."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CourseConfigError(f"No course configuration at {path}.") from None
        except tomllib.TOMLDecodeError as err:
            raise CourseConfigError(f"{path} is not valid TOML: {err}") from None
        where = path.name
        course = data.get("course", {})
        pkg = data.get("student_package", {})
        subs = data.get("submissions", {})
        late = data.get("late", {})
        default = cls()
        regexp = subs.get("named_regexp", default.named_regexp)
        try:
            groups = re.compile(regexp).groupindex
        except re.error as err:
            raise CourseConfigError(f"{where}: [submissions] named_regexp does not compile: {err}") from None
        missing = {"student_id", "file_id"} - set(groups)
        if missing:
            raise CourseConfigError(
                f"{where}: [submissions] named_regexp needs the named groups {sorted(missing)}"
            )
        policy = LatePolicy(
            policy=str(late.get("policy", "none")),
            percent_per_day=float(late.get("percent_per_day", 10)),
            max_percent=float(late.get("max_percent", 100)),
            grace_minutes=float(late.get("grace_minutes", 0)),
        )
        if policy.policy not in LATE_POLICIES:
            raise CourseConfigError(
                f"{where}: [late] policy must be one of {', '.join(LATE_POLICIES)}, not {policy.policy!r}"
            )
        due: dict[str, datetime | None] = {}
        lms_columns: dict[str, str] = {}
        extra: set[str] = set()
        for i, entry in enumerate(data.get("assignments", [])):
            aid = entry.get("id")
            if not aid:
                raise CourseConfigError(f"{where}: assignment number {i + 1} has no id")
            when = entry.get("due")
            if when is not None and (not isinstance(when, datetime) or when.tzinfo is None):
                raise CourseConfigError(
                    f"{where}: the due date of {aid} must be a date-time with a UTC offset "
                    f"(e.g. 2026-09-21T23:59:00-04:00), not {when!r}"
                )
            due[aid] = when
            if str(entry.get("lms_column", "")).strip():
                lms_columns[aid] = str(entry["lms_column"]).strip()
            flag = entry.get("extra_credit", False)
            if not isinstance(flag, bool):
                raise CourseConfigError(f"{where}: extra_credit of {aid} must be true or false, not {flag!r}")
            if flag:
                extra.add(aid)
        size = subs.get("max_megabytes", default.max_megabytes)
        if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
            raise CourseConfigError(f"{where}: [submissions] max_megabytes must be a positive number, not {size!r}")
        for key in ("repository", "ref"):
            if not str(pkg.get(key, getattr(default, key))).strip():
                raise CourseConfigError(f"{where}: [student_package] {key} is empty")
        return cls(
            course_id=str(course.get("id", default.course_id)),
            title=str(course.get("title", default.title)),
            term=str(course.get("term", "")),
            repository=str(pkg.get("repository", default.repository)),
            ref=str(pkg.get("ref", default.ref)),
            subdirectory=str(pkg.get("subdirectory", default.subdirectory)),
            named_regexp=regexp,
            late=policy,
            due=due or {a: None for a in ASSIGNMENTS},
            lms_columns=lms_columns,
            extra_credit=frozenset(extra),
            max_megabytes=float(size),
            path=path,
        )


def points(value: float) -> str:
    """``"1 point"``, ``"1.5 points"``, ``"2 points"``: a number of points as people write it."""
    return f"{value:g} point" + ("" if value == 1 else "s")


def parse_submission_name(filename: str, named_regexp: str) -> dict[str, str | None] | None:
    """``{student_id, file_id, last_name, attempt, late, ...}`` from a course-site file name.

    ``named_regexp`` is nbgrader's ``FileNameCollectorPlugin.named_regexp``. Optional groups
    the pattern lacks come back as ``last_name=""``, ``attempt="0"``, ``late=None``; None when
    the name does not fit.
    """
    m = re.match(named_regexp, Path(filename).name)
    if not m:
        return None
    info: dict[str, str | None] = {"last_name": "", "attempt": "0", "late": None}
    info.update({k: v for k, v in m.groupdict().items() if v is not None or k not in info})
    return info


def course_toml() -> Path:
    """The course configuration file (``VAECOURSE_COURSE_TOML`` or ``course.toml`` at the root)."""
    env = os.environ.get(COURSE_TOML_ENV, "").strip()
    return Path(env).expanduser().resolve() if env else REPO / "course.toml"


@dataclass(frozen=True)
class Course:
    """A course on disk. All paths are absolute."""

    root: Path
    source: Path
    release: Path
    work: Path
    samples: Path
    config: CourseConfig = field(default_factory=CourseConfig)
    #: the gradebook's database URL when it is not ``<work>/gradebook.db`` (a shared server)
    database_url: str = ""
    #: the share of a sharded grading run (``"2-of-3"``): its own gradebook, scratch release
    #: and reports under ``<work>/shards/<shard>/`` (:mod:`autograder.pipeline.shard`)
    shard: str = ""

    @property
    def course_id(self) -> str:
        return self.config.course_id

    @classmethod
    def default(cls) -> Course:
        """The repository's course, configured by ``course.toml``; the work folder from
        ``VAECOURSE_COURSE_DIR``."""
        work = os.environ.get(COURSE_DIR_ENV, "").strip()
        path = course_toml()
        config = CourseConfig.load(path) if path.is_file() or os.environ.get(COURSE_TOML_ENV) else CourseConfig()
        return cls(
            config=config,
            database_url=os.environ.get(DB_URL_ENV, "").strip(),
            root=REPO,
            source=REPO / "solutions",
            release=REPO / "notebooks",
            work=Path(work).expanduser().resolve() if work else REPO / "autograder" / "course",
            samples=REPO / "autograder" / "samples",
        )

    def with_work(self, work: Path) -> Course:
        """The same course with another working directory (tests, sample grading)."""
        return replace(self, work=Path(work).resolve())

    def with_shard(self, shard: str) -> Course:
        """The same course graded as one share (``"k-of-N"``) of a sharded run."""
        return replace(self, shard=shard)

    # ---- working folders -------------------------------------------------------------
    @property
    def shard_dir(self) -> Path:
        """``<work>/shards/<shard>`` (a sharded run's own files) or ``<work>``."""
        return self.work / "shards" / self.shard if self.shard else self.work

    @property
    def db_path(self) -> Path:
        return self.shard_dir / "gradebook.db"

    @property
    def has_gradebook(self) -> bool:
        """Whether there is a gradebook to read: a database server always (nbgrader creates its
        tables when first opened), the SQLite file once something has created it."""
        return bool(self.database_url) or self.db_path.is_file()

    @property
    def db_url(self) -> str:
        """The gradebook's SQLAlchemy URL (nbgrader's ``CourseDirectory.db_url``)."""
        if self.database_url:
            for plain in ("postgresql://", "postgres://"):
                if self.database_url.startswith(plain):
                    return POSTGRES_DRIVER + self.database_url[len(plain):]
            return self.database_url
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
        return self.shard_dir / "reports"

    @property
    def grading_release(self) -> Path:
        """Scratch release folder: the gradebook is built from the sources into it."""
        return self.shard_dir / "release"

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
        order = list(self.config.assignments) or list(ASSIGNMENTS)
        ordered = [a for a in order if a in found]
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
