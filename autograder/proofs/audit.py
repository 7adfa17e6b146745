"""The answer audit: can anything a student is given pass a graded cell's tests?

For one assignment, :func:`audit` builds the package students have while that assignment is open
(:func:`~autograder.pipeline.student_build.stripped_for`: its own and later fill-ins, and the
answers declared for them, stripped; with the grader-only test kit, which the hidden tests
import and which is no candidate: students never get it), then runs the source notebook with
:mod:`autograder.proofs.audit_probe` in a process of its own, with that build first on the path
and the grading profile's settings. The probe tries, as the answer of every graded code fill-in,
every public function and class of the build and every function that any release notebook
defines outside its fill-ins (given code, visible tests): bound to the fill-in's name, and called
through the fill-in's own signature (with the items of what they return). A candidate that
passes all the fill-in's tests (hidden ones included) *solves* it; one that passes some is
listed as *partial*. Two controls per fill-in keep the audit honest: a copy of the reference
answer must pass every test and the release's stub none.

``python -m autograder audit [A ...]`` prints the table; CI runs it
(``autograder/tests/proofs/test_audit.py``) and fails on any solving candidate.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..course import KERNEL_ENV, Course
from ..nb.cells import (
    fill_in_target,
    grade_id,
    is_code_fill_in,
    is_solution,
    is_test_cell,
    strip_markers,
)
from ..nb.spec import AssignmentSpec
from ..pipeline.student_build import build_for, stripped_for

#: how long one assignment's audit may take (the full notebook plus every candidate)
TIMEOUT = 1800


@dataclass
class FillInAudit:
    """What the audit found for one graded code fill-in."""

    grade_id: str
    tests: list[str]
    solved_by: list[str] = field(default_factory=list)
    partial: list[dict] = field(default_factory=list)
    tried: int = 0
    ran_tests: int = 0
    error: str = ""
    controls_ok: bool = True
    seconds: float = 0.0


@dataclass
class AuditReport:
    """One assignment's audit."""

    assignment: str
    fill_ins: dict[str, FillInAudit]
    skipped: dict[str, str]
    errors: list[str]
    seconds: float = 0.0

    @property
    def solved(self) -> dict[str, list[str]]:
        """Fill-in -> the candidates that pass all of its tests."""
        return {g: f.solved_by for g, f in self.fill_ins.items() if f.solved_by}

    @property
    def ok(self) -> bool:
        """No candidate solves a fill-in, every fill-in was audited and every control held."""
        return (not self.solved and not self.errors and all(f.controls_ok and not f.error
                                                               for f in self.fill_ins.values()))  # fmt: skip

    def format(self) -> str:
        """A table: per fill-in, the candidates tried and what passed."""
        lines = [f"{self.assignment}: {len(self.fill_ins)} fill-ins audited in {self.seconds:.0f} s"]
        for gid, f in self.fill_ins.items():
            state = "SOLVED" if f.solved_by else ("error" if f.error or not f.controls_ok else "ok")
            lines.append(f"  {gid:<32} {state:<7} {f.tried:>5} candidates, {f.ran_tests:>4} ran the tests")
            lines += [f"      solved by {c}" for c in f.solved_by]
            lines += [f"      partial: {p['candidate']} passes {', '.join(p['passes'])}" for p in f.partial]
            if f.error:
                lines.append(f"      error: {f.error}")
            if not f.controls_ok:
                lines.append("      a control failed (the reference did not pass, or the stub did)")
        lines += [f"  not audited: {gid} ({why})" for gid, why in self.skipped.items()]
        lines += [f"  notebook error: {e}" for e in self.errors]
        return "\n".join(lines)


def fill_in_targets(nb: nbformat.NotebookNode) -> tuple[dict[str, dict], dict[str, str]]:
    """The graded code fill-ins the audit can try answers for: grade id -> {target, method,
    header, kind, tests}; and the ones it cannot (grade id -> why)."""
    spec = AssignmentSpec.from_notebook(nb, "audit")
    targets: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if not (gid and is_code_fill_in(cell)):
            continue
        tests = sorted(spec.owned.get(gid, frozenset()))
        if not tests:
            continue
        try:
            ast.parse(strip_markers(cell.source))
        except SyntaxError:
            skipped[gid] = "its reference does not parse"
            continue
        found = fill_in_target(strip_markers(cell.source), gid)
        if found is None:
            skipped[gid] = "defines no function or class to substitute (a training cell or an answer variable)"
            continue
        targets[gid] = {**found, "tests": tests}
    return targets, skipped


def visible_functions(course: Course) -> list[dict]:
    """Every function and class that a release notebook defines outside its fill-ins."""
    found = []
    for assignment in course.assignments():
        path = course.release_notebook(assignment)
        if not path.is_file():
            continue
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or is_solution(cell):
                continue
            source = strip_markers(cell.source)
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.ClassDef):
                    segment = ast.get_source_segment(source, node)
                    if segment:
                        found.append({"origin": f"{assignment} cell {index}", "name": node.name,
                                      "source": textwrap.dedent(segment)})  # fmt: skip
    return found


def notebook_cells(nb: nbformat.NotebookNode) -> list[dict]:
    """The source notebook's code cells as the probe runs them (reference answers, all tests)."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kind = "fill-in" if is_code_fill_in(cell) else "test" if is_test_cell(cell) else "given"
        source = "\n".join("pass  # " + line if line.lstrip().startswith("%matplotlib") else line
                           for line in strip_markers(cell.source).splitlines())  # no GUI here: Agg
        cells.append({"grade_id": grade_id(cell), "kind": kind, "source": source})
    return cells


def audit(course: Course, assignment: str, work: Path | None = None, only: list[str] | None = None,
          strip: set[str] | None = None) -> AuditReport:  # fmt: skip
    """Audit one assignment (``only``: just these fill-ins) against the build its students have
    (``strip``: the blocks to strip instead, e.g. none, to see that the audit finds answers)."""
    course.require(assignment)
    nb = nbformat.read(course.source_notebook(assignment), as_version=4)
    targets, skipped = fill_in_targets(nb)
    if only:
        targets = {g: t for g, t in targets.items() if g in only}
    with tempfile.TemporaryDirectory(prefix="vaecourse-audit-") as scratch:
        base = Path(work or scratch)
        hidden = stripped_for(course, assignment) if strip is None else strip
        build, _ = build_for(course, base / "build", hidden, grader=True)
        home = base / "home"
        home.mkdir(parents=True, exist_ok=True)
        job = {"cells": notebook_cells(nb), "fill_ins": targets, "visible": visible_functions(course),
               "skipped": skipped, "workdir": str(home)}  # fmt: skip
        (base / "job.json").write_text(json.dumps(job))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VAECOURSE_"))}
        env.update(KERNEL_ENV)
        env.update({"PYTHONPATH": os.pathsep.join([str(build / "src"), str(course.root)]),
                    "HOME": str(home), "VAECOURSE_CACHE": str(home / "cache"),
                    "VAECOURSE_KERNEL_THREADS": "1"})  # fmt: skip
        if os.environ.get("VAECOURSE_DATA"):
            env["VAECOURSE_DATA"] = os.environ["VAECOURSE_DATA"]
        result = subprocess.run(
            [sys.executable, "-m", "autograder.proofs.audit_probe", str(base / "job.json"), str(base / "out.json")],
            env=env, cwd=home, capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
        out = base / "out.json"
        if not out.is_file():
            raise RuntimeError(f"the audit of {assignment} did not finish (exit {result.returncode}):\n"
                               f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
        raw = json.loads(out.read_text())
    if "crash" in raw:
        raise RuntimeError(f"the audit of {assignment} crashed:\n{raw['crash']}")
    fill_ins = {
        gid: FillInAudit(gid, f["tests"], f.get("solved_by", []), f.get("partial", []), f.get("tried", 0),
                         f.get("ran_tests", 0), f.get("error", ""),
                         bool(f.get("control_reference", False) and f.get("control_stub", False)),
                         f.get("seconds", 0.0))
        for gid, f in raw["fill_ins"].items()
    }  # fmt: skip
    missing = sorted(set(targets) - set(fill_ins))
    errors = list(raw.get("errors", [])) + [f"{g}: its tests never ran" for g in missing]
    return AuditReport(assignment, fill_ins, raw.get("skipped", {}), errors, raw.get("seconds", 0.0))
