"""Damaged and adversarial submissions, made from any assignment's samples.

Each maker takes the release notebook, the assignment's :class:`AssignmentSpec` and its
samples and returns a :class:`SampleCase`: the file as a student would upload it and the
score it must get (a new case is one more :class:`Maker` in :func:`makers`). Damaged files are either repairable (full marks, like the reference)
or rejected (zero). Adversarial notebooks get exactly what their honest part earns.

``toy_only`` cases either wait for the per-cell timeout (a hang, an endless print) or break
the notebook's later cells in ways whose score depends on the notebook; the tests run them
on the autograder's small test assignment, with a short timeout, where the expected score
is exact.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell

from ..nb.cells import first_definition, grade_id, is_code_fill_in
from ..nb.spec import AssignmentSpec
from .build import SampleCase, build_notebook
from .sample import Sample

PDF_BYTES = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@dataclass(frozen=True)
class Maker:
    name: str
    group: str  # "damaged" or "adversarial"
    description: str
    make: Callable[[NotebookNode, AssignmentSpec, list[Sample], dict[str, NotebookNode]], SampleCase | None]
    toy_only: bool = False


def _case(name: str, spec: AssignmentSpec, group: str, description: str,
          notebook: NotebookNode | bytes, expected: dict[str, float]) -> SampleCase:  # fmt: skip
    return SampleCase(name, spec.name, group, description, notebook, expected)


def _full(spec: AssignmentSpec) -> dict[str, float]:
    return spec.expected(frozenset())


def _zero(spec: AssignmentSpec) -> dict[str, float]:
    return spec.expected(frozenset(spec.tests))


def _after_setup(nb: NotebookNode, *cells: NotebookNode) -> NotebookNode:
    at = next((i for i, c in enumerate(nb.cells) if grade_id(c) == "setup"), 0)
    for k, cell in enumerate(cells):
        nb.cells.insert(at + 1 + k, cell)
    return nb


def _reference(release: NotebookNode, spec: AssignmentSpec) -> NotebookNode:
    return build_notebook(release, spec, {})


def _first_mistake(samples: list[Sample]) -> Sample | None:
    return next((s for s in samples if s.kind == "mistake"), None)


# ---- damaged ------------------------------------------------------------------------
def lost_metadata(release, spec, samples, others):
    nb = _reference(release, spec)
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 2
    data["metadata"] = {"colab": {"provenance": []}, "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    for cell in data["cells"]:
        cell["metadata"] = {"id": "colab-xyz"}
        cell.pop("id", None)
    return _case("lost_metadata", spec, "damaged", "re-saved by another editor: nbgrader metadata, cell ids gone, nbformat 4.2",
                 json.dumps(data).encode(), _full(spec))  # fmt: skip


def code_to_markdown(release, spec, samples, others):
    nb = _reference(release, spec)
    for cell in nb.cells:
        if is_code_fill_in(cell):
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return _case("code_to_markdown", spec, "damaged", "every fill-in code cell turned into markdown", nb, _full(spec))


def tests_deleted_duplicated(release, spec, samples, others):
    nb = _reference(release, spec)
    tests = [i for i, c in enumerate(nb.cells) if grade_id(c) in spec.tests]
    if len(tests) < 2:
        return None
    copy_of = copy.deepcopy(nb.cells[tests[-1]])
    copy_of["id"] = "duplicated-test"
    nb.cells.insert(tests[-1] + 1, copy_of)
    del nb.cells[tests[0]]
    return _case("tests_deleted_duplicated", spec, "damaged", "first test cell deleted, last one duplicated", nb, _full(spec))


def inserted_reordered(release, spec, samples, others):
    nb = _reference(release, spec)
    nb = _after_setup(nb, new_markdown_cell("My notes: remember the 1/2!"), new_code_cell("my_scratch = [1, 2, 3]\nprint(len(my_scratch))"))
    sols = [i for i, c in enumerate(nb.cells) if is_code_fill_in(c)]
    if sols:  # move a fill-in to the very end, after its tests
        nb.cells.append(nb.cells.pop(sols[0]))
    return _case("inserted_reordered", spec, "damaged", "cells inserted, a fill-in moved below its tests", nb, _full(spec))


def nbformat_v3(release, spec, samples, others):
    nb = _reference(release, spec)
    old = nbformat.convert(copy.deepcopy(nb), 3)
    return _case("nbformat_v3", spec, "damaged", "saved as nbformat 3", nbformat.writes(old, version=3).encode(), _full(spec))


def empty_file(release, spec, samples, others):
    return _case("empty_file", spec, "damaged", "an empty file", b"", _zero(spec))


def not_a_notebook(release, spec, samples, others):
    return _case("not_a_notebook", spec, "damaged", "a PDF uploaded instead of the notebook", PDF_BYTES, _zero(spec))


def wrong_assignment(release, spec, samples, others):
    if not others:
        return None
    name, other = next(iter(others.items()))
    return _case("wrong_assignment", spec, "damaged", f"the notebook of {name} uploaded instead",
                 nbformat.writes(other).encode(), _zero(spec))  # fmt: skip


# ---- adversarial -------------------------------------------------------------------------
MONKEYPATCH = """\
import numpy as np
import vaecourse.checks as _c
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
for _name in ("assert_close", "assert_shape", "assert_equal", "assert_in", "assert_all", "to_numpy"):
    setattr(_c, _name, lambda *a, **k: None)
"""

MONKEYPATCH_CORE = MONKEYPATCH + """\
import builtins
np.exp = lambda x: x  # would make a wrong expected value look right
np.sqrt = lambda x: x
builtins.isinstance = lambda *a, **k: True
builtins.abs = lambda x: 0
"""

ALWAYS_EQUAL = """\
class AlwaysEqual:
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
    def __float__(self):
        return 0.0
"""

CUSTOM_EXC = """\
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
"""

TRANSFORMER = """\
get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
"""

EXIT_KERNEL = """\
import os
os._exit(0)
"""

QUIT_KERNEL = """\
exit()
"""

MEMORY_HOG = """\
hog = bytearray(64 * 1024 ** 3)
"""

ESCAPE = """\
import os, socket
report = dict()
def attempt(name, action):
    try:
        action()
        report[name] = "SUCCEEDED"
    except BaseException as e:
        report[name] = f"blocked ({{type(e).__name__}})"
attempt("read solutions", lambda: open({source!r}).read(100))
attempt("read gradebook", lambda: open({db!r}, "rb").read(100))
attempt("write gradebook", lambda: open({db!r}, "ab").write(b"x"))
attempt("list submissions", lambda: os.listdir({submitted!r}))
attempt("signal the grader", lambda: os.kill(os.getppid(), 0))
attempt("network", lambda: socket.create_connection(("127.0.0.1", 22), timeout=2))
for k, v in report.items():
    print(f"{{k}}: {{v}}")
"""

HANG = """\
import time
while True:
    try:
        time.sleep(0.05)
    except KeyboardInterrupt:
        pass
"""

FLOOD = """\
while True:
    print("spam " * 200)
"""

# processes that try to outlive the notebook (issue 26); each on the blank release (zero), each
# must leave no process and no file behind, within the kernel's bounds
OUTLIVING = ("fork_sleepers", "double_fork", "ignore_sigterm", "thread_storm", "fill_folder")

FORK_SLEEPERS = """\
import os, time
started = 0
for _ in range(100):
    try:
        pid = os.fork()
    except OSError as e:  # the kernel's bound on processes and threads
        print(f"fork refused after {started} children: {e}")
        break
    if pid == 0:
        os.setsid()  # a session of its own: out of reach of the kernel's process group
        time.sleep(600)
        os._exit(0)
    started += 1
print(f"{started} children sleep in sessions of their own")
"""

DOUBLE_FORK = """\
import os, time
for _ in range(10):
    if os.fork() == 0:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)  # the grandchild is orphaned: re-parented away from the kernel
        time.sleep(600)
        os._exit(0)
    os.wait()
print("10 orphaned grandchildren sleep")
"""

IGNORE_SIGTERM = """\
import os, signal
for _ in range(2):
    if os.fork() == 0:
        os.setsid()
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        while True:  # busy, deaf to every signal it can ignore
            pass
print("2 busy children ignore SIGTERM")
"""

THREAD_STORM = """\
import threading, time
threads = []
try:
    for _ in range(5000):
        t = threading.Thread(target=time.sleep, args=(600,), daemon=True)
        t.start()
        threads.append(t)
except RuntimeError as e:  # the kernel's bound on processes and threads
    print(f"thread refused after {len(threads)}: {e}")
print(f"{len(threads)} threads sleep")
"""

FILL_FOLDER = """\
import os, signal, time
if os.fork() == 0:
    os.setsid()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the size of a file: a new file
    chunk, n = b"x" * (1 << 20), 0
    while True:
        try:
            with open(f"filler-{n}.bin", "wb") as f:
                while True:
                    f.write(chunk)
        except OSError:
            n += 1
time.sleep(4)  # the writer fills the kernel's folder meanwhile
"""


def _extra(name: str, description: str, code: str, base: str) -> Callable:
    """An adversarial cell after the setup cell, with reference or a mistake's answers."""

    def make(release, spec, samples, others):
        if base == "reference":
            nb, expected = _reference(release, spec), _full(spec)
        elif base == "blank":
            nb, expected = copy.deepcopy(release), _zero(spec)
        else:
            mistake = _first_mistake(samples)
            if mistake is None:
                return None
            nb, expected = build_notebook(release, spec, mistake.answers), spec.expected(mistake.fails)
            description_ = f"{description} (with mistake {mistake.name})"
            return _case(name, spec, "adversarial", description_, _after_setup(nb, new_code_cell(code)), expected)
        return _case(name, spec, "adversarial", description, _after_setup(nb, new_code_cell(code)), expected)

    return make


def _cell_maker(name: str, label: str, description: str, code: str, base: str, toy_only: bool = False) -> Maker:
    """The :class:`Maker` of an adversarial cell after the setup cell (see :func:`_extra`)."""
    return Maker(name, "adversarial", label, _extra(name, description, code, base), toy_only)


def escape(paths: dict[str, str]) -> Callable:
    def make(release, spec, samples, others):
        code = ESCAPE.format(**{**paths, "source": str(paths["source"]).format(assignment=spec.name)})
        nb = _after_setup(_reference(release, spec), new_code_cell(code))
        return _case("escape_attempts", spec, "adversarial",
                     "tries to read solutions/gradebook, write the gradebook, signal the grader, use the network",
                     nb, _full(spec))  # fmt: skip

    return make


def crash_in_answer(release, spec, samples, others):
    """The first fill-in function kills the kernel when a test calls it."""
    functions = {g: first_definition(spec.reference_source(g), "def") for g in spec.solutions if spec.is_code(g)}
    first = next((g for g, name in functions.items() if name), None)
    if first is None:
        return None
    code, fname = spec.reference_source(first), functions[first]
    bomb = f"{code}\n\n_honest_{fname} = {fname}\ndef {fname}(*args, **kwargs):\n    import os\n    os._exit(3)\n"
    nb = build_notebook(release, spec, {first: bomb})
    return _case("crash_in_answer", spec, "adversarial", f"{fname} calls os._exit when the tests call it",
                 nb, spec.expected(spec.tests_owned_by([first])))  # fmt: skip


def always_equal(release, spec, samples, others):
    """Every fill-in function (or answer variable) is an object whose __eq__ is always true."""
    answers = {}
    for gid in spec.solutions:
        if not spec.is_code(gid):
            continue
        source = spec.reference_source(gid)
        if function := first_definition(source, "def"):
            answers[gid] = ALWAYS_EQUAL + f"\ndef {function}(*args, **kwargs):\n    return AlwaysEqual()\n"
        elif variable := first_definition(source, "assign"):
            answers[gid] = ALWAYS_EQUAL + f"\n{variable} = AlwaysEqual()\n"
    nb = build_notebook(release, spec, answers)
    return _case("always_equal", spec, "adversarial", "answers are objects whose __eq__ is always true",
                 nb, spec.expected(spec.tests_owned_by(answers)))  # fmt: skip


def makers(paths: dict[str, str], toy: bool) -> list[Maker]:
    """All damaged and adversarial cases (``toy_only`` ones only when ``toy``)."""
    found = [
        Maker("lost_metadata", "damaged", "metadata lost", lost_metadata),
        Maker("code_to_markdown", "damaged", "code cells turned markdown", code_to_markdown),
        Maker("tests_deleted_duplicated", "damaged", "test cells deleted/duplicated", tests_deleted_duplicated),
        Maker("inserted_reordered", "damaged", "inserted/reordered cells", inserted_reordered),
        Maker("nbformat_v3", "damaged", "nbformat 3", nbformat_v3),
        Maker("empty_file", "damaged", "empty file", empty_file),
        Maker("not_a_notebook", "damaged", "not a notebook", not_a_notebook),
        Maker("wrong_assignment", "damaged", "another assignment", wrong_assignment),
        _cell_maker("monkeypatch", "monkeypatches testing functions", "replaces numpy/builtins/checks functions",
                    MONKEYPATCH, "mistake"),
        _cell_maker("custom_exc", "hides errors with set_custom_exc", "hides every error with set_custom_exc",
                    CUSTOM_EXC, "mistake"),
        _cell_maker("transformer", "input transformer", "an input transformer replaces every later cell by 'pass'",
                    TRANSFORMER, "blank"),
        _cell_maker("exit_kernel", "os._exit", "a cell calls os._exit",
                    EXIT_KERNEL, "reference"),
        _cell_maker("quit_kernel", "exit()", "a cell calls exit()",
                    QUIT_KERNEL, "reference"),
        _cell_maker("memory_hog", "allocates 64 GiB", "a cell allocates 64 GiB",
                    MEMORY_HOG, "reference"),
        Maker("escape_attempts", "adversarial", "sandbox escape attempts", escape(paths)),
        Maker("crash_in_answer", "adversarial", "a fill-in kills the kernel", crash_in_answer, toy_only=True),
        _cell_maker("monkeypatch_core", "monkeypatches numpy maths and builtins",
                    "replaces np.exp, np.sqrt, isinstance, abs and testing functions", MONKEYPATCH_CORE, "mistake",
                    toy_only=True),
        Maker("always_equal", "adversarial", "__eq__ always true", always_equal, toy_only=True),
        _cell_maker("hang", "infinite loop ignoring KeyboardInterrupt", "a cell loops forever and swallows KeyboardInterrupt",
                    HANG, "reference", toy_only=True),
        _cell_maker("flood", "prints without end", "a cell prints without end",
                    FLOOD, "reference", toy_only=True),
        _cell_maker("fork_sleepers", "100 children in sessions of their own", "forks 100 children that call setsid and sleep",
                    FORK_SLEEPERS, "blank"),
        _cell_maker("double_fork", "orphaned grandchildren", "double-forks 10 sleepers (orphaned grandchildren)",
                    DOUBLE_FORK, "blank"),
        _cell_maker("ignore_sigterm", "busy children that ignore SIGTERM", "2 busy children that ignore SIGTERM, SIGINT, SIGHUP",
                    IGNORE_SIGTERM, "blank"),
        _cell_maker("thread_storm", "thousands of threads", "starts up to 5,000 sleeping threads",
                    THREAD_STORM, "blank"),
        _cell_maker("fill_folder", "fills the kernel's folder", "a background process fills the kernel's folder",
                    FILL_FOLDER, "blank"),
    ]  # fmt: skip
    return [m for m in found if toy or not m.toy_only]


def build_cases(
    release: NotebookNode,
    spec: AssignmentSpec,
    samples: list[Sample],
    others: dict[str, NotebookNode],
    paths: dict[str, str],
    toy: bool = False,
) -> list[SampleCase]:
    """The damaged and adversarial cases for one assignment."""
    cases = []
    for maker in makers(paths, toy):
        case = maker.make(release, spec, samples, others)
        if case is not None:
            cases.append(case)
    return cases
