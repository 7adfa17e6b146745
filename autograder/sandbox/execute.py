"""nbgrader's ``Execute`` preprocessor, hardened for untrusted submissions.

:class:`GuardedExecute` replaces ``Execute`` in nbgrader's autograde pipeline (see
:func:`autograder.pipeline.settings.apply_settings`, which also gives it its timeouts).
Differences:

* kernels start in the sandbox (:class:`autograder.sandbox.kernel.SandboxKernelManager`);
* a cell that outlives the per-cell timeout (wall time *and* the kernel's CPU time, so a
  busy machine does not fail honest cells; or 4x the timeout in wall time) is
  interrupted; if it does not stop within
  ``interrupt_grace`` seconds (a loop that swallows ``KeyboardInterrupt``), the kernel is
  killed. A kernel that dies (``os._exit``, a crash, the memory limit) or shuts itself down
  (``exit()``) is handled the same way. In every case the cell gets an error output, a
  fresh kernel is started, the cells that had run cleanly before are replayed (tests are
  skipped: they define nothing later cells need), and grading goes on, so later,
  independent tests still earn their credit. After ``max_restarts`` restarts the remaining
  cells are marked as not run (no credit);
* every execute reply status is recorded; a reply that is not ``ok`` always leaves an
  error output in the cell (nbgrader then gives the grade cell zero), also when a custom
  exception handler (``set_custom_exc``) or a replaced ``showtraceback`` hid the error;
* each autograded test cell runs with a random sentinel assignment prepended, read back
  afterwards: a test that did not really run (input/AST transformers rewriting cells) gets
  an error and zero;
* output is capped per cell while it arrives (the grader's memory stays bounded when a
  submission prints without end); errors are never dropped;
* every kernel's processes end with it (:mod:`autograder.sandbox.reaper`); leftovers that had
  to be killed, and a kernel stopped for its limits (folder size, processes), are events.

Kernels are forked from a zygote that has already imported the frameworks the notebook
imports (:data:`PRELOAD_GROUPS`, from its ``import`` statements; see
:mod:`autograder.sandbox.zygote`): the same sandbox, seconds less per notebook.

Per notebook, the events (timeouts, restarts, statuses) and the timings (kernel start-up,
each code cell's wall and kernel CPU seconds) are written next to the autograded notebook
as ``<notebook>.grading.json`` for the grading report and ``benchmarks/grading.py``, with
what each of its kernels' ends took (``kernels``: folder, cgroup, peak tasks, CPU, killed).
"""

from __future__ import annotations

import ast
import asyncio
import copy
import json
import os
import re
import secrets
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Float, Integer

from ..nb.cells import grade_id, is_test_cell
from .kernel import SandboxKernelManager

SIDECAR_SUFFIX = ".grading.json"
#: modules imported ahead of time (by a zygote) for a notebook that imports the key: few
#: groups, so that one zygote per group serves every notebook of a course
#: (``torch._dynamo``: every torch optimizer imports it when created, 2 CPU-s)
PRELOAD_GROUPS = {"tensorflow": ["tensorflow", "keras"], "keras": ["tensorflow", "keras"],
                  "torch": ["torch", "torch._dynamo"]}  # fmt: skip
_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][\w.]*)", re.MULTILINE)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class KernelLost(Exception):
    """The kernel hung, died or exited while running a cell."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def with_sentinel(source: str, statement: str) -> str:
    """``source`` with ``statement`` run after it completes (before a final expression).

    The sentinel proves that the test ran to its end without an exception, also when a
    submission swallows errors; a final expression keeps its displayed value (nbgrader
    reads partial credit from it).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (magics): append on a line of its own
        return f"{source}\n{statement}"
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        lines = source.splitlines()
        at = tree.body[-1].lineno - 1
        return "\n".join([*lines[:at], statement, *lines[at:]])
    return f"{source}\n{statement}"


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class GuardedExecute(Execute):
    """nbgrader's Execute with timeouts that kill, restarts, reply checks and output caps."""

    interrupt_grace = Float(5.0, help="Seconds a timed-out cell gets to stop after SIGINT.").tag(config=True)
    wall_factor = Float(4.0, help="A cell is stopped after timeout*wall_factor s of wall time in any case.").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts per notebook before giving up.").tag(config=True)
    max_output_chars = Integer(100_000, help="Text output kept per cell (characters).").tag(config=True)
    max_output_bytes = Integer(20_000_000, help="Output kept per cell, figures included (bytes).").tag(config=True)
    notebook_budget = Integer(900, help="Seconds of grading per notebook in all.").tag(config=True)
    check_tests_ran = Bool(True, help="Verify with a sentinel that each test cell ran.").tag(config=True)

    diagnoses = Dict(help="{test grade id: {'setup': expression, 'probe': expression}}: evaluated in the "
                     "kernel before that test and after it failed; the probe's value is a dict whose "
                     "'message' goes under the test and the verdict into the report (cells[].diagnosis for a "
                     "catalogued mistake, cells[].diagnosis_detail otherwise)").tag(config=True)  # fmt: skip
    preload_groups = Dict(PRELOAD_GROUPS, help="{module a notebook imports: modules its kernel's zygote "
                          "imports ahead of time}, besides the kernel manager's base_preload.").tag(config=True)  # fmt: skip

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(**kw)
        self._managers: list[SandboxKernelManager] = []

    def create_kernel_manager(self) -> Any:
        """nbclient's kernel manager, told which modules this notebook's kernel may find imported."""
        km = super().create_kernel_manager()
        if isinstance(km, SandboxKernelManager):
            km.preload = preload_for(self.nb, self.preload_groups)
            self._managers.append(km)
        return km

    # ---- notebook level --------------------------------------------------------------
    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self._events: list[dict[str, Any]] = []
        self._replayable: list[int] = []
        self._restarts = 0
        self._given_up = ""
        self._deadline = monotonic() + self.notebook_budget
        self._started = monotonic()
        self._startup: float | None = None
        self._timings: list[dict[str, Any]] = []
        self._diagnosed: dict[int, Any] = {}
        self._peak_mb = 0.0
        self._managers: list[SandboxKernelManager] = []
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._write_sidecar(resources)

    def _write_sidecar(self, resources: Any) -> None:
        meta = (resources or {}).get("metadata", {}) if isinstance(resources, dict) else {}
        path, name = meta.get("path"), meta.get("name")
        if not path or not name:
            return
        kernels = [k for km in self._managers for k in km.kernels]
        for k in kernels:
            if k.get("killed"):
                self._events.append({"cell": -1, "grade_id": "", "kind": "processes-killed", "detail":
                                     f"{k['killed']} processes the notebook started outlived its kernel: killed"})  # fmt: skip
            if k.get("reason"):
                self._events.append({"cell": -1, "grade_id": "", "kind": "kernel-limit", "detail": k["reason"]})
        report = {"restarts": self._restarts, "given_up": self._given_up, "events": self._events,
                  "startup": self._startup, "kernel_peak_mb": self._peak_mb, "cells": self._timings,
                  "kernels": kernels}  # fmt: skip
        try:
            (Path(path) / f"{name}{SIDECAR_SUFFIX}").write_text(json.dumps(report, indent=1))
        except OSError as e:  # a report must never break grading
            self.log.warning("could not write the grading report: %s", e)

    def _time_cell(self, cell: NotebookNode, index: int, wall0: float, cpu0: float | None) -> None:
        cpu1 = self._kernel_cpu()
        self._peak_mb = max(self._peak_mb, self._kernel_peak_mb())
        first = next((line for line in cell.source.splitlines() if line.strip()), "")[:60]
        self._timings.append({
            "cell": index, "grade_id": grade_id(cell) or "", "source": first,
            "wall": round(monotonic() - wall0, 3),
            "cpu": None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 3),
        })  # fmt: skip
        if index in self._diagnosed:
            key, value = self._diagnosed[index]
            self._timings[-1][key] = value

    def _event(self, index: int, cell: NotebookNode, kind: str, detail: str = "") -> None:
        self._events.append({"cell": index, "grade_id": grade_id(cell) or "", "kind": kind, "detail": detail})

    # ---- cell level ------------------------------------------------------------------
    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        self._check_assign_resources(resources)
        if not self._given_up and monotonic() > self._deadline:
            self._given_up = f"the notebook used up its grading time ({self.notebook_budget} s)"
        if self._given_up:
            cell.outputs = [_error_output("NotRun", f"not run: {self._given_up}")]
            self._event(index, cell, "not-run", self._given_up)
            return cell, self.resources
        if self._startup is None:  # kernel start-up: from preprocess() to the first code cell
            self._startup = round(monotonic() - self._started, 3)
        wall0, cpu0 = monotonic(), self._kernel_cpu()
        try:
            cell = self._run_cell(cell, index)
            self._time_cell(cell, index, wall0, cpu0)
        except KernelLost as lost:
            cell.outputs = list(cell.get("outputs", [])) + [_error_output(lost.kind, lost.message)]
            self._event(index, cell, lost.kind, lost.message)
            self._recover(index)
        else:
            if not any(o.output_type == "error" for o in cell.outputs) and not is_test_cell(cell):
                self._replayable.append(index)
        return cell, self.resources

    def _run_cell(self, cell: NotebookNode, index: int) -> NotebookNode:
        """Execute one cell; raise :class:`KernelLost` when the kernel is gone or hung."""
        self._timed_out = False
        self._reply: dict[str, Any] | None = None
        self._out_text = 0
        self._out_total = 0
        self._truncated = False
        source = cell.source
        sentinel = None
        plan = self.diagnoses.get(grade_id(cell) or "") if is_test_cell(cell) else None
        if plan:
            self._probe(plan["setup"])
        if self.check_tests_ran and is_test_cell(cell):
            sentinel = (f"_vaecourse_ran_{secrets.token_hex(8)}", secrets.token_hex(16))
            cell.source = with_sentinel(source, f"{sentinel[0]} = {sentinel[1]!r}")
        try:
            cell = self.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            raise KernelLost("KernelDied", self._death_message()) from None
        except _Hung as hung:
            raise KernelLost(
                "CellTimeoutError",
                f"the cell ran longer than {hung.timeout} s and ignored the interrupt; "
                "the kernel was restarted",
            ) from None
        finally:
            cell.source = source
        reply = (self._reply or {}).get("content", {})
        if self._timed_out:
            cell.outputs.append(_error_output(
                "CellTimeoutError", f"the cell ran longer than {self._get_timeout(cell)} s and was interrupted"
            ))  # fmt: skip
            self._event(index, cell, "timeout")
        if any(p.get("source") == "ask_exit" for p in reply.get("payload", []) or []):
            raise KernelLost("KernelExit", "the cell shut the kernel down (exit/quit); the kernel was restarted")
        if sentinel is not None and reply.get("status") == "ok":
            value = self._probe(f"globals().pop({sentinel[0]!r}, None)")
            if value != repr(sentinel[1]):
                cell.outputs.append(_error_output(
                    "TestNotRun", "this test did not run as written (the notebook changes how cells run)"
                ))  # fmt: skip
                self._event(index, cell, "test-not-run")
        if self._truncated:
            self._event(index, cell, "output-truncated")
        if plan and not self._timed_out and any(o.output_type == "error" for o in cell.outputs):
            self._diagnose(cell, index, plan["probe"])
        return cell

    def _diagnose(self, cell: NotebookNode, index: int, probe: str) -> None:
        """After a failed test: the probe's message under the test, its verdict for the report."""
        import ast as _ast

        value = self._probe(probe, timeout=min(30.0, float(self._get_timeout(cell) or 30)))
        try:
            verdict = _ast.literal_eval(value) if value else None
        except (ValueError, SyntaxError):
            verdict = None
        if not isinstance(verdict, dict) or not verdict.get("message"):
            return
        cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=f"\n{verdict['message']}\n"))
        # the report: a catalogued mistake under "diagnosis" (the class report counts them), any
        # other finding under "diagnosis_detail"
        if verdict.get("status") == "mistake":
            self._diagnosed[index] = ("diagnosis", {"mistake": verdict.get("mistake"),
                                                    "description": verdict.get("description")})
        else:
            self._diagnosed[index] = ("diagnosis_detail", str(verdict["message"]))

    def on_cell_executed(self, **kwargs: Any) -> None:
        """Record the reply; any status but ``ok`` must leave an error in the cell."""
        cell, reply = kwargs["cell"], kwargs["execute_reply"]
        self._reply = reply
        content = reply.get("content", {})
        status = content.get("status")
        if status == "error":
            # nbgrader adds the reply's error when no error output carries its name
            # (set_custom_exc, a replaced showtraceback): the grade cell then scores zero
            super().on_cell_executed(**kwargs)
        if status != "ok" and not any(o.output_type == "error" for o in cell.outputs):
            cell.outputs.append(_error_output("ExecutionFailed", f"execute reply status {status!r}"))
        if status != "ok":
            self._event(kwargs.get("cell_index", -1), cell, f"status-{status}", content.get("ename", ""))

    # ---- output cap -------------------------------------------------------------------
    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        msg_type = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
        content = msg.get("content", {})
        if msg_type == "stream" and content.get("name") == "stderr" and is_test_cell(self.nb.cells[cell_index]):
            # nbgrader zeroes a grade cell with any stderr output; a library warning printed
            # while a correct answer runs must not cost points (tests fail by raising)
            msg = copy.deepcopy(msg)
            msg["content"]["name"] = "stdout"
            content = msg["content"]
        text, total = _content_size(content)
        self._out_text = getattr(self, "_out_text", 0) + text
        self._out_total = getattr(self, "_out_total", 0) + total
        over = self._out_text > self.max_output_chars or self._out_total > self.max_output_bytes
        if over and msg_type not in ("error", "execute_result"):
            if not getattr(self, "_truncated", False):
                self._truncated = True
                room = self.max_output_chars - (self._out_text - text)
                if msg_type == "stream" and room > 0:  # keep the head of this message
                    outs.append(NotebookNode(output_type="stream", name=content.get("name", "stdout"),
                                             text=content.get("text", "")[:room]))  # fmt: skip
                outs.append(NotebookNode(
                    output_type="stream", name="stdout",
                    text=f"\n[output truncated by the grader: more than {self.max_output_chars} "
                         f"characters of text or {self.max_output_bytes} bytes in all]\n",
                ))  # fmt: skip
            return None
        if text > self.max_output_chars:
            msg = copy.deepcopy(msg)
            _shorten(msg.get("content", {}), self.max_output_chars)
        return super().output(outs, msg, display_id, cell_index)

    # ---- timeouts, death, restarts ----------------------------------------------------
    async def _async_poll_for_reply(
        self, msg_id: str, cell: NotebookNode, timeout: int | None,
        task_poll_output_msg: asyncio.Future, task_poll_kernel_alive: asyncio.Future,
    ) -> dict[str, Any]:  # fmt: skip
        """Wait for the reply; interrupt, then give up on a cell that runs too long.

        A cell runs too long when it has used ``timeout`` seconds of both wall time and the
        kernel's CPU time, or ``wall_factor * timeout`` seconds of wall time (a loop that
        sleeps). Counting CPU keeps honest cells from timing out on a busy machine.
        """
        assert self.kc is not None
        start, cpu0 = monotonic(), self._kernel_cpu()
        grace_end: float | None = None
        while True:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=1.0))
            except Empty:
                await self._async_check_alive()
                now = monotonic()
                if grace_end is None and timeout is not None:
                    wall = now - start
                    cpu = None if cpu0 is None else (self._kernel_cpu() or cpu0) - cpu0
                    if (wall > timeout and (cpu is None or cpu > timeout)) or wall > self.wall_factor * timeout:
                        self._timed_out = True
                        self.log.error("Cell ran %.0f s (%s s CPU): interrupting the kernel", wall,
                                       "?" if cpu is None else f"{cpu:.0f}")  # fmt: skip
                        await ensure_async(self.km.interrupt_kernel())
                        grace_end = now + self.interrupt_grace
                elif grace_end is not None and now > grace_end:
                    task_poll_kernel_alive.cancel()
                    task_poll_output_msg.cancel()
                    raise _Hung(timeout) from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            try:
                await asyncio.wait_for(task_poll_output_msg, self.iopub_timeout)
            except (TimeoutError, Empty):
                task_poll_output_msg.cancel()
                self.log.warning("Timeout waiting for the cell's output; going on")
            task_poll_kernel_alive.cancel()
            return msg

    def _kernel_pid(self) -> int | None:
        km = self.km
        if isinstance(km, SandboxKernelManager):
            return km.kernel_pid()
        return getattr(getattr(getattr(km, "provisioner", None), "process", None), "pid", None)

    def _kernel_peak_mb(self) -> float:
        """The kernel's peak resident memory so far (MiB), 0 if unreadable."""
        try:
            with open(f"/proc/{self._kernel_pid()}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
        return 0.0

    def _kernel_cpu(self) -> float | None:
        """CPU seconds used so far by the kernel process (all its threads), if readable."""
        try:
            pid = self._kernel_pid()
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        except (AttributeError, OSError, ValueError, IndexError):
            return None

    def _death_message(self) -> str:
        tail = ""
        km = self.km
        if isinstance(km, SandboxKernelManager):
            tail = km.kernel_log_tail().strip()
        message = "the kernel died while running this cell (os._exit, a crash or the memory limit)"
        if tail:
            message += "; its last words: " + tail[-600:]
        return message + "; the kernel was restarted"

    def _recover(self, failed: int) -> None:
        """Restart the kernel and replay the cells that ran cleanly before ``failed``."""
        self._restarts += 1
        if self._restarts > self.max_restarts:
            self._given_up = f"the kernel was lost {self._restarts} times"
            run_sync(self._async_kill)()
            return
        try:
            run_sync(self._async_restart)()
        except Exception as e:  # noqa: BLE001 (kernel start failure: give up this notebook)
            self._given_up = f"the kernel could not be restarted ({e})"
            return
        replay_cells = [i for i in self._replayable if i < failed]
        for index in replay_cells:
            original = self.nb.cells[index]
            replay = copy.deepcopy(original)
            try:
                self._run_cell(replay, index)
            except KernelLost as lost:
                self._given_up = f"replaying cell {index} after a restart failed ({lost.kind})"
                self.nb.cells[index] = original
                run_sync(self._async_kill)()
                return
            self.nb.cells[index] = original
        self._event(failed, self.nb.cells[failed], "restarted", f"replayed {len(replay_cells)} cells")

    async def _async_restart(self) -> None:
        assert self.km is not None
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        await ensure_async(self.km.restart_kernel(now=True))
        await self.async_start_new_kernel_client()

    async def _async_kill(self) -> None:
        try:
            if self.km is not None and await ensure_async(self.km.is_alive()):
                await ensure_async(self.km.shutdown_kernel(now=True))
        except Exception:  # noqa: BLE001,S110 (already gone)
            pass

    def _probe(self, expression: str, timeout: float = 15.0) -> str | None:
        """Evaluate ``expression`` in the kernel (silent request); its repr, or None."""
        return run_sync(self._async_probe)(expression, timeout)

    async def _async_probe(self, expression: str, timeout: float) -> str | None:
        assert self.kc is not None
        msg_id = await ensure_async(self.kc.execute("", silent=True, store_history=False, user_expressions={"v": expression}))
        end = monotonic() + timeout
        while monotonic() < end:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=max(0.0, end - monotonic())))
            except Empty:
                break
            if msg["parent_header"].get("msg_id") == msg_id:
                value = msg["content"].get("user_expressions", {}).get("v", {})
                if value.get("status") == "ok":
                    return value.get("data", {}).get("text/plain")
                return None
        return None


def preload_for(nb: NotebookNode, groups: dict[str, list[str]] | None = None) -> list[str]:
    """The modules to preload for ``nb``: the ``groups`` (default :data:`PRELOAD_GROUPS`) of the
    top-level packages its code cells import (``from torch import nn`` counts for ``torch``)."""
    groups = PRELOAD_GROUPS if groups is None else groups
    named: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            named.update(name.split(".")[0] for name in _IMPORT.findall(cell.source))
    return sorted({module for key in named for module in groups.get(key, [])})


class _Hung(Exception):
    def __init__(self, timeout: int | None) -> None:
        super().__init__(timeout)
        self.timeout = timeout


def _content_size(content: dict) -> tuple[int, int]:
    """(characters of text, bytes in all) of an output message's content."""
    if isinstance(content.get("text"), str):
        return len(content["text"]), len(content["text"])
    data = content.get("data") or {}
    text = total = 0
    for mime, value in data.items():
        size = len(value) if isinstance(value, str) else len(json.dumps(value))
        total += size
        if mime.startswith("text/"):
            text = max(text, size)
    if "traceback" in content:
        size = sum(len(line) for line in content["traceback"])
        text, total = text + size, total + size
    return text, total


def _shorten(content: dict, limit: int) -> None:
    note = "\n[... shortened by the grader]"
    if isinstance(content.get("text"), str):
        content["text"] = content["text"][:limit] + note
    for key, value in list((content.get("data") or {}).items()):
        if isinstance(value, str) and len(value) > limit:
            content["data"][key] = value[:limit] + note
    if "traceback" in content:
        content["traceback"] = [line[:2000] for line in content["traceback"][:60]]
