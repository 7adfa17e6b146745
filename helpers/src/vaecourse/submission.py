"""The pre-submission check: the last cell of every notebook, run before handing in.

The setup cell starts a log of the cells this kernel runs (:func:`start`, called by
:func:`vaecourse.checks.refresh_snapshot`): for each, a fingerprint of its code, whether it
raised, and the error's name. The notebook's last cell calls :func:`check` with the notebook's
manifest, written when the notebook was released: its code cells in order (the locked ones
with a fingerprint of their code), its graded cells and their points, the file name the course
site routes by, the largest upload it takes. :func:`check` prints a short receipt:

* whether every code cell ran, in order, since the setup cell, and which raised;
* which answers are still the release's stub (``raise NotImplementedError()``);
* whether the locked cells (setup, tests, given code) ran as released, unchanged;
* the notebook file, where it can be seen (Colab's open notebook; in Jupyter the saved file):
  its name must hold the assignment's id, its size must fit the course site, and no written
  answer may still read ``YOUR ANSWER HERE``;
* what will be graded, and that more tests run at grading than the visible checks.

No network, no answers: it reads only this kernel's log and the notebook itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_MARKER = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)\s*$")
STUB = "raise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"


@dataclass
class Run:
    """One cell the kernel ran."""

    fingerprint: str
    ok: bool
    error: str = ""
    stub: bool = False
    first_line: str = ""


@dataclass
class _Log:
    runs: list[Run] = field(default_factory=list)
    started: bool = False


_LOG = _Log()


def fingerprint(source: str) -> str:
    """A short hash of a cell's code as students see it: nbgrader's markers and hidden tests
    left out, blank lines and trailing spaces ignored (the same for the instructor's source
    and the release)."""
    lines, hidden = [], False
    for line in source.splitlines():
        if _MARKER.match(line):
            hidden = "BEGIN HIDDEN TESTS" in line or (hidden and "END HIDDEN TESTS" not in line)
            continue
        if not hidden and line.strip():
            lines.append(line.rstrip())
    return hashlib.sha1("\n".join(lines).encode()).hexdigest()[:12]


def start() -> bool:
    """Log every cell this IPython kernel runs from now on (once per kernel); False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    if not _LOG.started:
        shell.events.register("post_run_cell", _record)
        _LOG.started = True
    _LOG.runs.clear()
    return True


def _record(result: Any) -> None:
    source = getattr(getattr(result, "info", None), "raw_cell", "") or ""
    error = result.error_in_exec or result.error_before_exec
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    _LOG.runs.append(Run(fingerprint(source), error is None, type(error).__name__ if error else "",
                         STUB in source and "YOUR CODE HERE" in source, first[:60]))  # fmt: skip


# ---- the check ---------------------------------------------------------------------------
def check(manifest: dict | str) -> list[str]:
    """Print the receipt for the notebook described by ``manifest``; return its problem lines
    (empty: ready to hand in). Never raises: a check must not stop *Run all*."""
    spec = json.loads(manifest) if isinstance(manifest, str) else manifest
    if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("VAECOURSE_MAX_STEPS"):
        print("Pre-submission check: skipped in the grader's run (it checked your own run when you ran it).")
        return []
    problems: list[str] = []
    lines = [f"Pre-submission check for {spec['assignment']}"]
    runs = list(_LOG.runs)  # this cell is logged once it has run: not yet
    if not _LOG.started:
        problems.append("the setup cell did not run in this session: choose Runtime > Run all "
                        "(Kernel > Restart & Run All), then run this cell again")
    else:
        problems += _ran_in_order(spec["cells"], runs)
    found = _notebook_file(spec)
    problems += found[1]
    for problem in problems:
        lines.append(f"  [!] {problem}")
    if not problems:
        lines.append("  [ok] every code cell ran, in order, without an error, and the locked cells are as released")
    lines.append(f"  {found[0]}")
    lines[0] += ": ready to hand in" if not problems else f": {_n(len(problems), 'thing')} to fix first ([!])"
    lines.append(_graded(spec))
    from .checks import GRADING_NOTE

    lines.append(GRADING_NOTE)
    print("\n".join(lines))
    return problems


def _ran_in_order(cells: list[dict], runs: list[Run]) -> list[str]:
    """Align the kernel's runs (the log restarts with each run of the setup cell, so it begins
    with the last one) with the notebook's code cells: each locked cell's fingerprint in
    order, an answer or given cell in each gap."""
    problems: list[str] = []
    errors = [r for r in runs if not r.ok]
    if errors:
        shown = ", ".join(f"{r.error} in the cell that starts {r.first_line!r}" for r in errors[:3])
        problems.append(f"{len(errors)} cell(s) raised an error: {shown}" + (" ..." if len(errors) > 3 else ""))
    stubs = [r.first_line for r in runs if r.stub]
    if stubs:
        problems.append(f"{len(stubs)} answer(s) still raise NotImplementedError (the release's stub): "
                        + ", ".join(repr(s) for s in stubs[:4]) + (" ..." if len(stubs) > 4 else ""))  # fmt: skip
    at, hits, missing, changed = 0, [], [], []
    for position, cell in enumerate(cells):
        if not cell.get("locked"):
            continue
        hit = next((j for j in range(at, len(runs)) if runs[j].fingerprint == cell["fingerprint"]), None)
        label = cell.get("grade_id") or f"code cell {cell['index']}"
        if hit is None:
            (changed if any(r.fingerprint == cell["fingerprint"] for r in runs) else missing).append(label)
            continue
        hits.append((position, hit))
        at = hit + 1
    # between two locked cells, every answer and given cell of the notebook must have run
    skipped = 0
    for (p0, r0), (p1, r1) in zip(hits, hits[1:], strict=False):
        expected = sum(1 for c in cells[p0 + 1:p1] if not c.get("locked"))
        skipped += max(0, expected - (r1 - r0 - 1))
    if missing:
        problems.append(f"{len(missing)} locked cell(s) did not run as released (changed, or not run since "
                        f"the setup cell): {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
    if changed:
        problems.append(f"cells ran out of order: {', '.join(changed[:5])} ran before the cells above them; "
                        "run the notebook again from the top")
    if skipped:
        problems.append(f"{skipped} answer or given cell(s) did not run since the setup cell: run all cells")
    return problems


def _notebook_file(spec: dict) -> tuple[str, list[str]]:
    """What can be seen of the notebook's file: (a line for the receipt, problems)."""
    assignment, limit = spec["assignment"], float(spec.get("max_megabytes", 25))
    advice = (f"download it as {assignment}.ipynb (the name must contain {assignment!r}) "
              f"and upload at most {limit:g} MB")  # fmt: skip
    nb, name, size = _open_notebook()
    if nb is None:
        return f"[?] the notebook file cannot be seen from here: {advice}", []
    problems = []
    if name and assignment not in name:
        problems.append(f"the notebook is named {name!r}: the course site routes files by the "
                        f"assignment's id, so rename it to {assignment}.ipynb")  # fmt: skip
    if size is not None and size > limit * 1e6:
        problems.append(f"the notebook is {size / 1e6:.1f} MB, more than the {limit:g} MB the course site "
                        "takes: clear large outputs (Edit > Clear all outputs on a cell that prints too much), "
                        "run again, save")  # fmt: skip
    written = [c for c in nb.get("cells", []) if c.get("cell_type") == "markdown"
               and c.get("metadata", {}).get("nbgrader", {}).get("solution")
               and TEXT_STUB in "".join(c.get("source", ""))]  # fmt: skip
    if written:
        ids = [c["metadata"]["nbgrader"].get("grade_id", "?") for c in written]
        problems.append(f"{len(written)} written answer(s) still read {TEXT_STUB!r}: {', '.join(ids[:5])}")
    what = f"{name!r}, " if name else ""
    return (f"[{'ok' if not problems else '!'}] the notebook file: {what}"
            + (f"{size / 1e6:.1f} MB" if size is not None else "size unknown") + f"; {advice}"), problems


def _open_notebook() -> tuple[dict | None, str | None, float | None]:
    """(the notebook as JSON, its file name, its size in bytes) where they can be known."""
    try:  # Colab: the open notebook, as the frontend holds it
        from google.colab import _message  # type: ignore[import-not-found]

        reply = _message.blocking_request("get_ipynb", request="", timeout_sec=10)
        nb = reply.get("ipynb") if isinstance(reply, dict) else None
        if isinstance(nb, dict):  # Colab keeps the notebook's name in its metadata
            name = nb.get("metadata", {}).get("colab", {}).get("name")
            return nb, name, float(len(json.dumps(nb)))
    except Exception:  # noqa: BLE001,S110 (not Colab)
        pass
    session = os.environ.get("JPY_SESSION_NAME", "")
    path = Path(session) if session else None
    if path is not None and path.suffix == ".ipynb" and path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8")), path.name, float(path.stat().st_size)
        except (OSError, ValueError):
            return None, path.name, None
    return None, None, None


def _n(count: float, word: str) -> str:
    return f"{count:g} {word}" + ("" if count == 1 else "s")


def _graded(spec: dict) -> str:
    graded = spec.get("graded", {})
    auto, manual = graded.get("auto", {}), graded.get("manual", {})
    return (f"What is graded: {_n(len(spec.get('answers', [])), 'code answer')}, checked by "
            f"{_n(len(auto), 'test')} ({_n(sum(auto.values()), 'point')}), and {_n(len(manual), 'written answer')} "
            f"graded by hand ({_n(sum(manual.values()), 'point')}).")
