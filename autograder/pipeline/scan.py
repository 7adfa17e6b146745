"""Flag suspicious code in submissions for a human to look at.

The scan never changes a grade: the tests and the sandbox decide what a submission earns.
Collect records the flags in ``reports/flags.json`` (:func:`record_flags`); after autograde,
each flagged submission is marked in the gradebook (the formgrader's "Flagged?" column) and
its autograded notebook opens with a box for graders naming every offending cell
(:mod:`autograder.pipeline.handgrade`).
It lists code that tries to change how the notebook runs or is checked, to leave the
sandbox, or to stop the kernel, so that an instructor can look at those few notebooks.
Only the student's own code is scanned (cells whose text is not the release's).

Given the names of the package functions and classes that hold the assignment's fill-ins
(:func:`autograder.pipeline.student_build.fill_in_api`), it also flags code that imports or
calls them from ``vaecourse``: such an answer fails its tests (the grading kernels import the
student build, where these raise ``NotImplementedError``), and a human should know why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nbformat import NotebookNode

from ..course import Course

FLAGS = "flags.json"

PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\bget_ipython\b|\bIPython\b", "uses the IPython shell (it can change how cells run)"),
    (r"set_custom_exc|input_transformers|ast_transformers|register_magic|events\.register|\brun_cell\b|showtraceback",
     "changes how cells run or how errors are shown"),
    (r"\bbuiltins\b|__builtins__", "touches builtins"),
    (r"\bchecks\s*(=|\.\w+\s*=)|vaecourse\.checks|_snapshot", "touches the test-checking module"),
    (r"sys\.modules|importlib\.reload", "replaces modules"),
    (r"\b(np|numpy|tf|tensorflow|torch|math|scipy|keras)(\.\w+)+\s*=(?!=)", "monkeypatches a library"),
    (r"def\s+__(eq|ne|bool|float|array|len|getattr)__", "defines comparison/conversion methods"),
    (r"os\._exit|sys\.exit|\bexit\s*\(|\bquit\s*\(|os\.kill|os\.abort|signal\.", "exits, kills or handles signals"),
    (r"except\s+(KeyboardInterrupt|BaseException)|except\s*:", "catches KeyboardInterrupt/everything"),
    (r"subprocess|os\.system|os\.popen|\bctypes\b|\bsocket\b|urllib|requests\.", "system or network access"),
    (r"os\.(fork|forkpty|setsid|spawn\w*|posix_spawn\w*)\b|\bmultiprocessing\b|\bthreading\b|\b_thread\b|concurrent\.futures",
     "starts processes or threads"),
    (r"solutions|gradebook|autograder|nbgrader|\.\./", "refers to course files"),
    (r"settrace|setprofile|gc\.get_referrers|gc\.get_objects|sys\._getframe|inspect\.(stack|currentframe)",
     "inspects the running tests"),
    (r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(|__import__", "runs generated code"),
)  # fmt: skip
_COMPILED = [(re.compile(p), label) for p, label in PATTERNS]


FILL_IN_LABEL = "uses the package's implementation of a fill-in"
_FROM = re.compile(r"^\s*from\s+(vaecourse(?:\.\w+)*)\s+import\s+\(?([^)#\n]+)", re.M)
_IMPORT = re.compile(r"^\s*import\s+(vaecourse(?:\.\w+)*)(?:\s+as\s+(\w+))?", re.M)


def _package_aliases(sources: list[str]) -> set[str]:
    """Names bound to ``vaecourse`` modules by the notebook's imports (``losses``, ``vc``, ...)."""
    aliases = {"vaecourse"}
    for text in sources:
        for m in _FROM.finditer(text):
            for part in m.group(2).split(","):
                name, _, alias = part.strip().partition(" as ")
                if name:
                    aliases.add((alias or name).strip())
        for m in _IMPORT.finditer(text):
            aliases.add(m.group(2) or m.group(1).split(".")[0])
    return aliases


def _fill_in_use(source: str, fill_ins: frozenset[str] | set[str], aliases: set[str]) -> re.Match | None:
    """The first import or call of a fill-in from the package in ``source``, or None."""
    for m in _FROM.finditer(source):
        names = {p.strip().partition(" as ")[0].strip() for p in m.group(2).split(",")}
        if names & fill_ins:
            return m
    if not fill_ins:
        return None
    pattern = (r"\b(?:" + "|".join(map(re.escape, sorted(aliases))) + r")(?:\.\w+)*\.("
               + "|".join(map(re.escape, sorted(fill_ins))) + r")\b")  # fmt: skip
    return re.search(pattern, source)


#: offending lines quoted per label; further cells are named by number only
QUOTED = 3


def _hit_line(source: str, m: re.Match) -> str:
    line = source[: m.end()].rsplit("\n", 1)[-1] + source[m.end():].split("\n", 1)[0]
    return repr(line.strip()[:80])


def scan_notebook(notebook: NotebookNode, release: NotebookNode,
                  fill_ins: frozenset[str] | set[str] = frozenset()) -> list[str]:  # fmt: skip
    """Flags for a submission, one per label, naming every cell where it was found:
    ``"<label> (cell 4: '<line>'; cell 9: '<line>'; cell 12: '<line>'; also cells 15, 19)"``.

    ``fill_ins``: names in ``vaecourse`` whose use from an answer is flagged.
    """
    release_texts = {c.source.strip() for c in release.cells}
    hits: dict[str, list[tuple[int, str]]] = {}
    aliases = _package_aliases([c.source for c in notebook.cells if c.cell_type == "code"])
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or cell.source.strip() in release_texts:
            continue
        m = _fill_in_use(cell.source, fill_ins, aliases)
        if m:
            hits.setdefault(FILL_IN_LABEL, []).append((i, _hit_line(cell.source, m)))
        for pattern, label in _COMPILED:
            m = pattern.search(cell.source)
            if m:
                hits.setdefault(label, []).append((i, _hit_line(cell.source, m)))
    flags = []
    for label, found in hits.items():
        quoted = "; ".join(f"cell {i}: {line}" for i, line in found[:QUOTED])
        rest = [str(i) for i, _ in found[QUOTED:]]
        flags.append(f"{label} ({quoted}{'; also cells ' + ', '.join(rest) if rest else ''})")
    return flags


def flags_path(course: Course) -> Path:
    """``<work>/reports/flags.json`` (the course's, shared by the shards of a sharded run)."""
    return course.work / "reports" / FLAGS


def read_flags(course: Course) -> dict[str, dict[str, list[str]]]:
    """``{assignment: {student: [flag, ...]}}`` as recorded by collect ({} before any)."""
    path = flags_path(course)
    return json.loads(path.read_text()) if path.is_file() else {}


def record_flags(course: Course, assignment: str, flags: dict[str, list[str]]) -> None:
    """Replace ``assignment``'s flags in ``reports/flags.json`` (other assignments' are kept)."""
    table = read_flags(course)
    table[assignment] = {s: f for s, f in sorted(flags.items()) if f}
    path = flags_path(course)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1))
