"""The course's nbgrader settings, and the one way to get an ``NbGraderAPI`` from them.

:func:`apply_settings` writes everything nbgrader needs to know about the course into a
traitlets ``Config``: the folders of a :class:`~autograder.course.Course`, the stubs that
replace solutions, the hardened ``Execute`` (:class:`~autograder.sandbox.execute.GuardedExecute`)
in a sandboxed kernel with the course's kernel settings, and the feedback preprocessors.
``autograder/nbgrader_config.py`` (plain ``nbgrader`` commands) and every command of
``python -m autograder`` go through it. :func:`nbgrader_api` and :func:`generate_assignment`
are the only places that build an ``NbGraderAPI`` and run ``generate_assignment``.

Grading kernels import the student build of the helpers package for the assignment being
graded (:func:`autograder.pipeline.student_build.prepare_grading_builds`): with an
``assignment``, :func:`apply_settings` puts that build first on the kernels' ``PYTHONPATH``
and among their read-only paths, so an answer that imports the package's implementation of
its own fill-in gets ``NotImplementedError``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from traitlets.config import Config

from ..course import (
    CODE_STUB,
    COURSE_DIR_ENV,
    GRADING_IPYTHON_CONFIG,
    KERNEL_ENV,
    TEXT_STUB,
    Course,
    cell_timeout,
)
from ..sandbox.execute import GuardedExecute
from .graderonly import GRADER_FILES, RemoveGraderOnly

_REGEX_SPECIAL = set("+*?()[]{}^$|\\")


def check_folder_names(course: Course, *extra: Path) -> None:
    """Refuse folders that nbgrader cannot use, with a message that says why.

    nbgrader matches the submitted and autograded notebooks' paths with regular expressions
    built from these absolute folders without escaping them, so a folder name holding, e.g.,
    ``+`` or ``(`` would make every submission "not found".
    """
    for path in (course.source, course.release, course.submitted, course.autograded,
                 course.feedback, *extra):  # fmt: skip
        bad = sorted(_REGEX_SPECIAL & set(str(path)))
        if bad:
            raise ValueError(
                f"nbgrader cannot use the folder {path}: its name contains {' '.join(bad)}, "
                "which nbgrader reads as regular-expression syntax. Move the course or set "
                f"{COURSE_DIR_ENV} to a folder whose path has none of {' '.join(sorted(_REGEX_SPECIAL))}."
            )


def package_dir(name: str) -> str | None:
    """The folder of an importable package, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))).resolve())


def kernel_reads() -> list[str]:
    """Read-only paths of a grading kernel: the helpers package, the data, the data cache."""
    helpers = package_dir("vaecourse")
    # the folder on sys.path that holds the package (an editable install adds helpers/src)
    reads = [str(Path(helpers).parent) if helpers else None]
    for var in ("VAECOURSE_DATA", "VAECOURSE_CACHE"):
        if os.environ.get(var):
            reads.append(str(Path(os.environ[var]).expanduser().resolve()))
    if not os.environ.get("VAECOURSE_CACHE"):
        reads.append(str(Path.home() / ".cache" / "vaecourse"))  # pre-extracted datasets
    return [r for r in reads if r]


#: threads per grading kernel: unset or ``0``, the frameworks' defaults (one per core);
#: ``auto``, cores / workers (:func:`autograder.pipeline.grade.autograde` puts in the number)
KERNEL_THREADS_ENV = "VAECOURSE_KERNEL_THREADS"


#: CPU time of a grading kernel's processes together, in cores (:attr:`SandboxKernelManager.cpus`,
#: a cgroup CPU quota): :func:`autograder.pipeline.grade.autograde` sets cores / workers, its
#: workers' share of the machine, unless it is set already; unset (plain ``nbgrader``): no limit
KERNEL_CPUS_ENV = "VAECOURSE_KERNEL_CPUS"


def kernel_cpus() -> float:
    """The CPU share of a grading kernel (``VAECOURSE_KERNEL_CPUS``; 0: no limit)."""
    try:
        return max(0.0, float(os.environ.get(KERNEL_CPUS_ENV, "") or 0))
    except ValueError:
        return 0.0


def kernel_threads_env(threads: int) -> dict[str, str]:
    """The variables that size NumPy's/OpenMP's, TensorFlow's and PyTorch's thread pools.

    With as many grading workers as cores, each kernel's framework would start one thread
    per core: they then wait on each other and burn CPU spinning. One pool per kernel sized
    cores / workers avoids that. TensorFlow's inter-op pool keeps two threads (one can
    deadlock ops that wait on each other).
    """
    if threads <= 0:
        return {}
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n,
            "TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": str(max(2, threads))}  # fmt: skip


def kernel_env(student_build: Path | None = None) -> dict[str, str]:
    """Environment of a grading kernel: :data:`~autograder.course.KERNEL_ENV`, the data folder,
    the thread-pool sizes (``VAECOURSE_KERNEL_THREADS``, :func:`kernel_threads_env`) and the
    student build first on ``PYTHONPATH`` when given."""
    env = dict(KERNEL_ENV)
    if os.environ.get("VAECOURSE_DATA"):
        env["VAECOURSE_DATA"] = os.environ["VAECOURSE_DATA"]
    threads = os.environ.get(KERNEL_THREADS_ENV, "").strip()
    if threads.isdigit():
        env.update(kernel_threads_env(int(threads)))
    if student_build is not None:
        env["PYTHONPATH"] = str(student_build)
    return env


#: the course's nbconvert templates (``nbconvert/templates/base/mathjax.html.j2``: MathJax from
#: the Jupyter server, the CDN only as a fallback), first on ``JUPYTER_PATH``
TEMPLATES = Path(__file__).resolve().parent / "templates"


def share_base_templates() -> None:
    """Put the course's templates first on ``JUPYTER_PATH`` (:data:`TEMPLATES`: its MathJax
    macro replaces nbconvert's for every page rendered in this process and its children), and
    let nbconvert find the base installation's templates from a virtualenv.

    A virtualenv made with ``--system-site-packages`` sees nbconvert and nbgrader but not
    their data files (``<base prefix>/share/jupyter/nbconvert/templates``), so feedback and
    every HTML export fail with "No template sub-directory"; ``JUPYTER_PATH`` adds them.
    """
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if not paths or paths[0] != str(TEMPLATES):
        paths = [str(TEMPLATES), *(p for p in paths if p != str(TEMPLATES))]
    base = Path(sys.base_prefix) / "share" / "jupyter"
    if sys.prefix != sys.base_prefix and (base / "nbconvert" / "templates").is_dir() and str(base) not in paths:
        paths.append(str(base))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)


def apply_settings(c: Config, course: Course, *, release: Path | None = None,
                   assignment: str | None = None) -> Config:  # fmt: skip
    """Write the course's nbgrader settings into ``c`` and return it.

    ``release`` replaces the release folder (grading builds its gradebook from the sources
    into a scratch folder, so it never touches the committed ``notebooks/``). With
    ``assignment``, kernels import that assignment's student build when it has been built
    (:func:`~autograder.pipeline.student_build.prepare_grading_builds`); without, or for a
    course without a ``helpers/`` package, the installed ``vaecourse``.
    """
    check_folder_names(course, *([release] if release else []))
    share_base_templates()
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
    # and a notebook's grades saved in one transaction (pipeline/savegrades.py)
    from .savegrades import AtomicSaveAutoGrades

    swap = {"Execute": GuardedExecute, "SaveAutoGrades": AtomicSaveAutoGrades}
    c.Autograde.autograde_preprocessors = [swap.get(p.__name__, p) for p in _default_autograde_preprocessors()]
    fast_metadata_checks()
    c.GuardedExecute.timeout = cell_timeout()
    c.GuardedExecute.startup_timeout = 180  # a busy machine starts kernels slowly
    build = None
    if assignment is not None:
        from .student_build import grading_build

        src = grading_build(course, assignment) / "src"
        build = src if src.is_dir() else None
    if assignment is not None and course.source_notebook(assignment).is_file():
        from .diagnose import plans

        # a failed test of a function fill-in is diagnosed against the catalogue of mistakes
        c.GuardedExecute.diagnoses = plans(course, assignment)
    c.SandboxKernelManager.kernel_env = kernel_env(build)
    c.SandboxKernelManager.cpus = kernel_cpus()
    c.SandboxKernelManager.ipython_config = list(GRADING_IPYTHON_CONFIG)
    c.SandboxKernelManager.extra_reads = kernel_reads() + ([str(build)] if build else [])
    # feedback shows the student's outputs and the test messages, not the hidden test code
    # (neither in the cells nor in tracebacks) nor the grading machine's paths
    c.GenerateFeedback.preprocessors = _feedback_preprocessors()
    c.CleanTracebacks.roots = grader_roots(course)
    # graders' companion files (the student's own run, the rubrics) stay out of feedback
    c.CourseDirectory.ignore = [*_default_ignore(), *GRADER_FILES]
    c.LimitOutput.max_lines = 200
    c.LimitOutput.max_traceback = 60
    return c


class _CachedSchemaChecks:
    """Stands in for the ``jsonschema`` module inside nbgrader's metadata checks.

    nbgrader checks each cell's nbgrader metadata with ``jsonschema.validate``, which checks the
    schema itself again on every call: half a CPU-second per graded notebook of a hundred cells.
    This builds the validator once per schema; the same errors are raised
    (``jsonschema.ValidationError``)."""

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}

    def validate(self, instance: Any, schema: dict) -> None:
        import jsonschema

        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        validator.validate(instance)


def fast_metadata_checks() -> None:
    """Let nbgrader's cell-metadata checks (``CheckCellMetadata``, run on every graded notebook)
    reuse one schema validator (:class:`_CachedSchemaChecks`)."""
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _CachedSchemaChecks):
        common.jsonschema = _CachedSchemaChecks()


def _feedback_preprocessors() -> list[type]:
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    from .tracebacks import CleanTracebacks

    return [RemoveGraderOnly, GetGrades, ClearHiddenTests, CleanTracebacks, CSSHTMLHeaderPreprocessor]


def grader_roots(course: Course) -> list[str]:
    """Folders of the grading machine whose paths feedback must not show (cut to file names)."""
    import tempfile

    roots = {course.root, course.work, Path(tempfile.gettempdir()), Path.home(), Path(sys.prefix)}
    return sorted(str(p.resolve()) for p in roots)


def _default_ignore() -> list[str]:
    from nbgrader.coursedir import CourseDirectory

    return list(CourseDirectory().ignore)


def _default_autograde_preprocessors() -> list[type]:
    from nbgrader.converters.autograde import Autograde

    return list(Autograde.class_traits()["autograde_preprocessors"].make_dynamic_default())


def nbgrader_config(course: Course, *, release: Path | None = None, assignment: str | None = None) -> Config:
    """A fresh traitlets ``Config`` with the course's settings."""
    return apply_settings(Config(), course, release=release, assignment=assignment)


def nbgrader_api(course: Course, *, release: Path | None = None,
                 assignment: str | None = None):  # -> nbgrader.apps.NbGraderAPI  # fmt: skip
    """nbgrader's API on the course (``release``, ``assignment`` as in :func:`apply_settings`), quiet."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = nbgrader_config(course, release=release, assignment=assignment)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    api.log.setLevel(logging.ERROR)
    return api


def generate_assignment(api, assignment: str) -> None:  # noqa: ANN001 (nbgrader.apps.NbGraderAPI)
    """``nbgrader generate_assignment`` into the API's release folder (forced, created).

    Raises:
        RuntimeError: with nbgrader's log when the assignment cannot be generated.
    """
    result = api.generate_assignment(assignment, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(
            f"nbgrader generate_assignment {assignment} failed:\n"
            + result.get("error", "") + result.get("log", "")
        )
