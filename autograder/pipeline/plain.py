"""Plain nbgrader commands with the course's protections (``cd autograder && nbgrader ...``).

``autograder/nbgrader_config.py`` calls :func:`configure` with the command line nbgrader was
started with, so that nbgrader's own commands keep the protections that ``python -m autograder``
applies, or refuse with what to run instead:

* ``nbgrader autograde <assignment>``: the grading kernels import the student build of that
  assignment (its blocks and later ones stripped, :func:`~.student_build.prepare_grading_builds`,
  built here if missing), so an answer that imports the package's implementation earns nothing;
  every submission is first rebuilt on the release's skeleton (:class:`RepairSubmission`, the
  repair of :mod:`~autograder.pipeline.repair`), as ``collect`` does; the grading data must be
  there (:func:`~.data.require_grading_data`). Without one assignment named it refuses: the
  build depends on the assignment.
* ``nbgrader zip_collect <assignment>``: the course site's file names (``course.toml``'s
  ``named_regexp``, read from the file's name, not its path) and the latest attempt per student,
  with :class:`~autograder.pipeline.collect.CourseSiteCollector`.
* every other command: the course's settings (:func:`~.settings.apply_settings`).
"""

from __future__ import annotations

import logging

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode
from traitlets.config import Config

from ..course import Course
from .settings import apply_settings

LOG = logging.getLogger("autograder")
OURS = "python -m autograder"
_BUILT: set[str] = set()


def command_of(argv: list[str]) -> tuple[str | None, str | None]:
    """(nbgrader subcommand, assignment id) of an ``nbgrader ...`` command line."""
    args = list(argv[1:])
    sub = next((a for a in args if not a.startswith("-")), None)
    if sub is None:
        return None, None
    rest = args[args.index(sub) + 1:]
    assignment = None
    for i, arg in enumerate(rest):
        for flag in ("--assignment", "--CourseDirectory.assignment_id"):
            if arg.startswith(flag + "="):
                assignment = arg.split("=", 1)[1]
            elif arg == flag and i + 1 < len(rest):
                assignment = rest[i + 1]
    positional = [a for i, a in enumerate(rest) if not a.startswith("-")
                  and not (i and rest[i - 1] in ("--assignment", "--CourseDirectory.assignment_id", "--student"))]  # fmt: skip
    return sub, assignment or (positional[0] if positional else None)


def configure(c: Config, course: Course, argv: list[str]) -> Config:
    """The course's settings for the plain nbgrader command ``argv`` (see the module docstring).

    Raises:
        SystemExit: a command that cannot be made safe as given (what to run instead).
    """
    sub, assignment = command_of(argv)
    if sub == "autograde":
        if not assignment or any(ch in assignment for ch in "*?["):
            raise SystemExit(
                "nbgrader autograde needs one assignment here (each assignment is graded against "
                "the package its students had): `nbgrader autograde mnist_vae`, or grade them all "
                f"with `{OURS} autograde` from the repository root.")
        if assignment not in course.assignments():
            raise SystemExit(f"{assignment!r} is not an assignment of this course "
                             f"({', '.join(course.assignments())}).")  # fmt: skip
        from .data import require_grading_data
        from .student_build import prepare_grading_builds

        require_grading_data(course)
        if (course.root / "helpers" / "pyproject.toml").is_file() and assignment not in _BUILT:
            prepare_grading_builds(course, [assignment])  # nbgrader reads its config more than once
            _BUILT.add(assignment)
        apply_settings(c, course, assignment=assignment)
        c.Autograde.sanitize_preprocessors = [RepairSubmission, *_default_sanitize()]
        c.RepairSubmission.assignment = assignment
        return c
    apply_settings(c, course)
    if sub == "zip_collect":
        from .collect import CourseSiteCollector

        c.ZipCollectApp.collector_plugin = CourseSiteCollector
        c.CourseSiteCollector.named_regexp = course.config.named_regexp
    return c


def _default_sanitize() -> list[type]:
    from nbgrader.converters.autograde import Autograde

    return list(Autograde.class_traits()["sanitize_preprocessors"].make_dynamic_default())


class RepairSubmission(Preprocessor):
    """The first step of a plain ``nbgrader autograde``: the submission rebuilt on the release's
    skeleton (:func:`~autograder.pipeline.repair.repair`), as ``collect`` would have done. A
    file that is not this assignment's notebook is graded as the blank release (zero), with the
    reason in the log."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled
    assignment = Unicode("", help="the assignment being graded").tag(config=True)

    def preprocess(self, nb, resources):  # noqa: ANN001,ANN201 (nbconvert's interface)
        import nbformat

        from ..nb.spec import AssignmentSpec
        from .repair import repair

        course = Course.default()
        release = nbformat.read(course.release_notebook(self.assignment), as_version=4)
        spec = AssignmentSpec.read(course.source_notebook(self.assignment))
        reference = {gid: spec.reference_source(gid) for gid in spec.solutions}
        others = {a: nbformat.read(p, as_version=4) for a in course.assignments()
                  if a != self.assignment and (p := course.release_notebook(a)).is_file()}  # fmt: skip
        fixed, report = repair(nbformat.writes(nb).encode(), release, reference, others)
        student = resources.get("nbgrader", {}).get("student", "?")
        if report.status != "ok":
            LOG.warning("%s/%s: %s: %s", student, self.assignment, report.status, "; ".join(report.notes))
        return fixed, resources

