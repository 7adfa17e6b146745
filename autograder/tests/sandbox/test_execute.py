"""GuardedExecute on small notebooks, without nbgrader's autograde around it.

Each notebook runs in a real sandboxed kernel; the cells provoke what submissions do
(crash the kernel, hang, flood the output, hide errors, rewrite cells) and the tests check
what the grader makes of it: an error in the failing cell, a fresh kernel with the clean
cells replayed, later tests still graded, and every event in the sidecar report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.sandbox.execute import (
    SIDECAR_SUFFIX,
    GuardedExecute,
    _content_size,
    _shorten,
    with_sentinel,
)

from .test_kernel import SETTINGS


def graded(source: str, gid: str):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": gid, "grade": True, "solution": False, "locked": True, "points": 1}
    return cell


def run(tmp_path: Path, cells: list, **traits) -> tuple[list, dict]:
    """Execute ``cells`` (the settings given as the pipeline gives them); return them and the
    sidecar report."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    config = Config()
    config.SandboxKernelManager.extra_reads = SETTINGS["extra_reads"]
    config.SandboxKernelManager.kernel_env = SETTINGS["kernel_env"]
    ex = GuardedExecute(config=config, **traits)
    out, _ = ex.preprocess(nb, {"metadata": {"path": str(tmp_path), "name": "nb"}})
    return out.cells, json.loads((tmp_path / f"nb{SIDECAR_SUFFIX}").read_text())


def errors(cell) -> list[str]:
    return [o.ename for o in cell.outputs if o.output_type == "error"]


def text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def crash_run(tmp_path_factory: pytest.TempPathFactory):
    cells = [
        new_code_cell("x = 1"),
        graded("import sys\nprint('a library warning', file=sys.stderr)\nassert x == 1", "test_stderr"),
        new_code_cell("print('spam ' * 2000)"),
        new_code_cell("import os\nos._exit(1)"),
        graded("assert x == 1", "test_after_crash"),
        new_code_cell("get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)"),
        graded("assert x == 2", "test_hidden_failure"),
        graded("x", "test_value"),
    ]
    return run(tmp_path_factory.mktemp("crash"), cells, max_output_chars=1000, timeout=60)


def test_stderr_of_a_passing_test_is_kept_as_stdout(crash_run) -> None:
    cells, _ = crash_run
    assert errors(cells[1]) == []
    assert [o.name for o in cells[1].outputs] == ["stdout"] and "a library warning" in text(cells[1])


def test_output_is_capped(crash_run) -> None:
    cells, report = crash_run
    assert "output truncated by the grader" in text(cells[2]) and len(text(cells[2])) < 1200
    assert {"cell": 2, "grade_id": "", "kind": "output-truncated", "detail": ""} in report["events"]


def test_a_dead_kernel_is_replaced_and_clean_cells_replayed(crash_run) -> None:
    cells, report = crash_run
    assert errors(cells[3]) == ["KernelDied"]
    assert errors(cells[4]) == []  # x came back with the replay
    kinds = [(e["cell"], e["kind"]) for e in report["events"]]
    assert (3, "KernelDied") in kinds and (3, "restarted") in kinds
    assert report["restarts"] == 1 and report["given_up"] == ""


def test_a_hidden_error_still_fails_the_test(crash_run) -> None:
    cells, report = crash_run
    assert errors(cells[6]), cells[6].outputs  # set_custom_exc swallowed the AssertionError
    assert any(e["cell"] == 6 and e["kind"] == "status-error" for e in report["events"])
    assert errors(cells[7]) == [] and cells[7].outputs[-1]["data"]["text/plain"] == "1"  # result kept


def test_hang_is_interrupted_then_killed_and_grading_goes_on(tmp_path: Path) -> None:
    cells = [
        new_code_cell("y = 5"),
        new_code_cell("import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass"),
        graded("assert y == 5", "test_after_hang"),
        new_code_cell("get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"),
        graded("assert y == 6", "test_skipped"),
    ]
    cells, report = run(tmp_path, cells, timeout=2, interrupt_grace=1.0, wall_factor=1.0)
    assert errors(cells[1]) == ["CellTimeoutError"]
    assert errors(cells[2]) == []
    assert errors(cells[4]) == ["TestNotRun"]  # the transformer replaced the test by "pass"
    kinds = {e["kind"] for e in report["events"]}
    assert {"CellTimeoutError", "restarted", "test-not-run"} <= kinds


def test_given_up_after_too_many_restarts(tmp_path: Path) -> None:
    crash = "import os\nos._exit(1)"
    cells, report = run(tmp_path, [new_code_cell(crash), new_code_cell(crash), graded("assert True", "t")],
                        max_restarts=1, timeout=60)  # fmt: skip
    assert errors(cells[0]) == ["KernelDied"] and errors(cells[1]) == ["KernelDied"]
    assert errors(cells[2]) == ["NotRun"] and "lost 2 times" in report["given_up"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("assert f(1) == 1", "assert f(1) == 1\nS = 1"),
        ("a = 1\nscore", "a = 1\nS = 1\nscore"),  # a final expression keeps its value
        ("%time f(1)", "%time f(1)\nS = 1"),  # IPython syntax: appended
    ],
)
def test_with_sentinel(source: str, expected: str) -> None:
    assert with_sentinel(source, "S = 1") == expected


def test_output_sizes_and_shortening() -> None:
    assert _content_size({"text": "abc"}) == (3, 3)
    assert _content_size({"data": {"text/plain": "ab", "image/png": "x" * 10}}) == (2, 12)
    content = {"text": "y" * 50, "data": {"text/html": "z" * 50}, "traceback": ["t" * 3000] * 100}
    _shorten(content, 10)
    assert content["text"].startswith("y" * 10) and "shortened by the grader" in content["text"]
    assert len(content["traceback"]) == 60 and len(content["traceback"][0]) == 2000


def test_the_report_times_every_code_cell(crash_run) -> None:
    """Kernel start-up and each finished code cell's wall and kernel CPU seconds (the cells
    the kernel died in are events instead)."""
    cells, report = crash_run
    assert report["startup"] > 0
    timed = {t["cell"]: t for t in report["cells"]}
    assert sorted(timed) == [0, 1, 2, 4, 5, 6, 7]
    assert timed[1]["grade_id"] == "test_stderr" and timed[1]["source"] == "import sys"
    assert all(t["wall"] >= 0 and (t["cpu"] is None or t["cpu"] >= 0) for t in timed.values())
