"""Diagnosed feedback: when a test fails, which common mistake the student's function behaves like.

Every assignment's ``autograder/samples/<a>/samples.py`` is a catalogue of common mistakes,
each with a one-line description and the full source of the answer that makes it (graded in CI,
so each provably fails the tests it names). :func:`plans` turns it into what the grading
kernels do around each test of a function fill-in (:class:`~autograder.sandbox.execute.GuardedExecute`'s
``diagnoses``):

* before the test, ``watch``: the student's function records how the test calls it;
* after a failure, ``diagnose``: the student's function, the reference answer and every
  catalogued mistake of that fill-in known to fail this test run again on the recorded arguments, with the random
  generators reseeded alike. A mistake that gives the same results as the student's function
  is named in its catalogue's words ("your `reparameterize` behaves like a common mistake: uses
  exp(logvar) as the standard deviation"); otherwise the feedback shows the first call where the
  student's result differs from the reference (the input, the expected and the actual value,
  summarised), or says that on those calls it does not differ (the test checks something else).

The kernel side is ``vaecourse.testkit.diagnose`` (graders' builds only); its message is added
under the failed test and its verdict to the grading report: a catalogued mistake as
``cells[].diagnosis`` (which the class report counts), any other finding as
``cells[].diagnosis_detail``. A fill-in that is no plain function (a class, a training cell, an answer
variable) gets no diagnosis; its tests' messages stand alone.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from ..course import Course
from ..nb.cells import fill_in_target
from ..nb.sample import load_samples_file
from ..nb.spec import AssignmentSpec

KIT = "__import__('vaecourse.testkit.diagnose').testkit.diagnose"


def plans(course: Course, assignment: str) -> dict[str, dict[str, str]]:
    """Test grade id -> ``{"setup": expression, "probe": expression}`` for every test of a
    function fill-in of ``assignment`` (evaluated in the kernel before the test, and after it
    failed)."""
    source = course.source_notebook(assignment)
    samples = course.samples / assignment / "samples.py"
    return dict(_plans(str(source), _mtime(source), str(samples), _mtime(samples)))


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.is_file() else 0.0


@functools.lru_cache(maxsize=16)
def _plans(source: str, _m1: float, samples: str, _m2: float) -> tuple[tuple[str, dict[str, str]], ...]:
    spec = AssignmentSpec.read(Path(source))
    catalogue = [s for s in load_samples_file(Path(samples), spec.name) if s.kind == "mistake"]
    out = []
    for fill_in, tests in spec.owned.items():
        reference = spec.reference_source(fill_in)
        target = fill_in_target(reference, fill_in)
        if not tests or target is None or target["kind"] != "function":
            continue
        name = target["target"]
        for test in sorted(tests):
            # the mistakes known to fail this very test (a mistake that passes it cannot explain it)
            mistakes = [{"name": s.name, "description": s.description, "source": s.answers[fill_in]}
                        for s in catalogue if fill_in in s.answers and test in s.fails]  # fmt: skip
            plan = json.dumps({"function": name, "reference": reference, "mistakes": mistakes})
            out.append((test, {"setup": f"{KIT}.watch(globals(), {name!r})",
                               "probe": f"{KIT}.diagnose(globals(), {plan!r})"}))  # fmt: skip
    return tuple(out)
