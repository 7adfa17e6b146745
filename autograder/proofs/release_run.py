"""Each release notebook, answered with the reference, run on the build students have when it is published.

A notebook is published once the assignments whose package answers it uses are past due
(:func:`~autograder.pipeline.student_build.release_date`); at that date the students' build has
the blocks of every assignment not yet past due stripped, and no grader-only test kit
(:func:`~autograder.pipeline.student_build.build_at`). :func:`run_release` fills the release's
solution cells with the reference answers (:func:`~autograder.proofs.build.reference_case`),
executes the notebook top to bottom in the grading profile in a fresh kernel with that build
first on ``PYTHONPATH``, and returns the cells that failed. So a notebook that needs an answer
still hidden on its release date (the package's, or an earlier notebook's), or a visible check
that imports the test kit, fails in CI (``autograder/tests/proofs/test_release_run.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import nbformat

from ..course import KERNEL_ENV, Course
from ..pipeline.student_build import build_at, release_date
from .build import read_spec, reference_case

#: seconds the whole notebook may take in the grading profile
TIMEOUT = 900


def run_release(course: Course, assignment: str, when: datetime | None = None,
                work: Path | None = None) -> list[str]:  # fmt: skip
    """Run the release of ``assignment`` with its reference answers on the build of ``when``
    (default: its release date; ``None`` there means before the first due date). Returns
    ``"cell N: error"`` for each cell that raised (empty: it ran top to bottom)."""
    when = when if when is not None else release_date(course, assignment)
    when = when + timedelta(seconds=1) if when is not None else None
    with tempfile.TemporaryDirectory(prefix=f"vaecourse-release-{assignment}-") as scratch:
        base = Path(work or scratch)
        build, _ = build_at(course, base / "build", when)
        release = nbformat.read(course.release_notebook(assignment), as_version=4)
        nb = reference_case(release, read_spec(course, assignment)).notebook
        source = base / f"{assignment}.ipynb"
        nbformat.write(nb, source)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VAECOURSE_"))}
        env.update(KERNEL_ENV)
        env.update({"PYTHONPATH": str(build / "src"), "VAECOURSE_KERNEL_THREADS": "1"})
        if os.environ.get("VAECOURSE_DATA"):
            env["VAECOURSE_DATA"] = os.environ["VAECOURSE_DATA"]
        out = base / "executed.ipynb"
        result = subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
             "--allow-errors", f"--ExecutePreprocessor.timeout={TIMEOUT}", "--output", str(out), str(source)],
            env=env, cwd=base, capture_output=True, text=True, timeout=TIMEOUT + 120)  # fmt: skip
        if not out.is_file():
            return [f"the notebook did not run: {result.stderr[-2000:]}"]
        executed = nbformat.read(out, as_version=4)
    errors = []
    for index, cell in enumerate(executed.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"cell {index}: {output.get('ename')}: {str(output.get('evalue'))[:300]}")
    return errors
