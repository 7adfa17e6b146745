"""What feedback shows of an error: the message, the student's own code, no hidden tests, no grader paths.

A failed test leaves IPython's traceback in the autograded notebook: every frame with a few
lines of its source. nbgrader's ``ClearHiddenTests`` removes the hidden tests from the cells'
sources, not from these frames, so a failed hidden test showed its own lines in feedback
(the expected value's formula, the grader's sentinel), and frames of the grading machine's
files showed their absolute paths (``/srv/course/autograder/course/student-helpers/...``).
:class:`CleanTracebacks`, a feedback preprocessor that runs after ``ClearHiddenTests``, rebuilds
each error output:

* frames of the student's own cells and of the release's given code stay as they are;
* frames of a test cell keep only where they are, ``in the test cell``: no source line, so no
  hidden test code and no sentinel;
* frames of the package students have (``vaecourse``) and of the libraries keep their source,
  with the path cut to the package (``vaecourse/checks.py:228``, ``keras/src/...``); frames of
  the graders' test kit (``vaecourse/testkit``) and of any other file show no source;
* the exception's message stays (the tests' messages are written for students), with any
  absolute path of the grading machine cut the same way, as in every other text output.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, List, Unicode

from ..nb.cells import is_test_cell

ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL = re.compile(r"^Cell In\[(\d+)\], line (\d+)")
_FILE = re.compile(r"^File (?P<path>[^\n:]+):(?P<line>\d+)(?P<rest>[^\n]*)")
#: a path inside the package or a library: keep it from the package's folder on
_PUBLIC_PARTS = (re.compile(r"(?:/[^/\s'\"]+)+/(?:site|dist)-packages/"),
                 re.compile(r"(?:/[^/\s'\"]+)+/src/(?=vaecourse/)"),
                 re.compile(r"(?:/[^/\s'\"]+)+/lib/python3\.\d+/"))  # fmt: skip
TESTKIT = "vaecourse/testkit/"
HIDDEN_FRAME = "in the test cell (its code is not part of the feedback)"


def scrub_paths(text: str, roots: list[str]) -> str:
    """``text`` with the grading machine's absolute paths cut: library and package paths to
    their package (``keras/src/ops/...``, ``vaecourse/checks.py``), paths under ``roots`` (the
    course, its working folder, the kernels' temporary folders) to their file name."""
    for pattern in _PUBLIC_PARTS:
        text = pattern.sub("", text)
    for root in sorted({r.rstrip("/") for r in roots if r and r != "/"}, key=len, reverse=True):
        text = re.sub(re.escape(root) + r"(?:/[^\s'\":]+)*/([^/\s'\":]+)", r"\1", text)
    return text


def clean_traceback(frames: list[str], own_cells: set[int], roots: list[str]) -> list[str]:
    """IPython's traceback (one string per frame, ANSI-coloured) as feedback may show it;
    ``own_cells``: the execution counts of the student's own cells."""
    out = []
    for frame in frames:
        plain = ANSI.sub("", frame)
        if m := _CELL.match(plain):
            out.append(frame if int(m.group(1)) in own_cells else HIDDEN_FRAME)
            continue
        if m := _FILE.match(plain):
            public = any(p.match(m["path"]) for p in _PUBLIC_PARTS)
            short = scrub_paths(m["path"], roots)
            if not public or short.startswith(TESTKIT):
                out.append(f"in {'the graders test kit' if short.startswith(TESTKIT) else 'a file of the grader'} "
                           "(its code is not part of the feedback)")  # fmt: skip
            else:
                out.append(scrub_paths(frame, roots))
            continue
        out.append(scrub_paths(frame, roots))
    return out


class CleanTracebacks(Preprocessor):
    """Feedback preprocessor: errors without hidden test code or grader paths (module docstring)."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled

    roots = List(Unicode(), help="absolute folders of the grading machine to hide").tag(config=True)

    def preprocess(self, nb, resources):  # noqa: ANN001,ANN201 (nbconvert's interface)
        # every code cell but the tests: the student's answers and the release's given code
        own = {c.get("execution_count") for c in nb.cells if c.cell_type == "code" and not is_test_cell(c)}
        own.discard(None)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                kind = output.get("output_type")
                if kind == "error":
                    output["traceback"] = clean_traceback(list(output.get("traceback", [])), own, self.roots)
                    output["evalue"] = scrub_paths(str(output.get("evalue", "")), self.roots)
                elif kind == "stream":
                    output["text"] = scrub_paths(str(output.get("text", "")), self.roots)
                elif kind in ("execute_result", "display_data"):
                    data = output.get("data", {})
                    if "text/plain" in data:
                        data["text/plain"] = scrub_paths(str(data["text/plain"]), self.roots)
        return nb, resources
