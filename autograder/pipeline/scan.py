"""Flag suspicious code in submissions for a human to look at.

The scan never changes a grade: the tests and the sandbox decide what a submission earns.
It lists code that tries to change how the notebook runs or is checked, to leave the
sandbox, or to stop the kernel, so that an instructor can look at those few notebooks.
Only the student's own code is scanned (cells whose text is not the release's).
"""

from __future__ import annotations

import re

from nbformat import NotebookNode

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
    (r"solutions|gradebook|autograder|nbgrader|\.\./", "refers to course files"),
    (r"settrace|setprofile|gc\.get_referrers|gc\.get_objects|sys\._getframe|inspect\.(stack|currentframe)",
     "inspects the running tests"),
    (r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(|__import__", "runs generated code"),
)  # fmt: skip
_COMPILED = [(re.compile(p), label) for p, label in PATTERNS]


def scan_notebook(notebook: NotebookNode, release: NotebookNode) -> list[str]:
    """Flags for a submission: ``"<label> (cell N: <line>)"``, one per label."""
    release_texts = {c.source.strip() for c in release.cells}
    flags: dict[str, str] = {}
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or cell.source.strip() in release_texts:
            continue
        for pattern, label in _COMPILED:
            m = pattern.search(cell.source)
            if m and label not in flags:
                line = cell.source[: m.end()].rsplit("\n", 1)[-1] + cell.source[m.end():].split("\n", 1)[0]
                flags[label] = f"{label} (cell {i}: {line.strip()[:80]!r})"
    return list(flags.values())
