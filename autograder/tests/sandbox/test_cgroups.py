"""Per-kernel cgroups: the task bound holds, the CPU quota holds, the kill is clean, and only
groups of ours (of this run, or of a dead one) are ever removed.

Skipped where this process may not create cgroups (an ordinary user without a delegated
subtree): the keeper's own bounds (``test_reaper.py``) hold there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.sandbox import cgroups

SANDBOX = Path(cgroups.__file__).resolve().parent


@pytest.fixture
def group():
    g = cgroups.KernelGroup.create(max_tasks=16, cpus=0.5)
    if g is None:
        pytest.skip("this process may not create cgroups")
    yield g
    g.remove()


def _in_group(g: cgroups.KernelGroup, code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python that first joins ``g`` (as a kernel does in confine)."""
    script = f"import sys; sys.path.insert(0, {str(SANDBOX)!r}); import cgroups; cgroups.join({g.paths!r})\n{code}"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)


def test_a_fork_storm_stops_at_the_bound(group) -> None:
    code = ("import os, time\nn = 0\ntry:\n    for _ in range(200):\n        if os.fork() == 0:\n"
            "            os.close(1); os.close(2); time.sleep(30)\n            os._exit(0)\n        n += 1\nexcept OSError as e:\n"
            "    print(n, type(e).__name__)\n")  # fmt: skip
    done = _in_group(group, code)
    forked, error = done.stdout.split()
    assert int(forked) == group.tasks_max - 1 and error == "BlockingIOError"  # the bound counts the parent too
    stats = group.stats()
    assert stats["tasks_peak"] == group.tasks_max == 16 and stats["tasks_refused"] >= 1
    survivors = group.procs()  # the sleepers outlived their parent
    assert len(survivors) == 15
    assert group.kill() == 15 and group.procs() == []


def test_threads_count_toward_the_bound(group) -> None:
    code = ("import threading, time\nthreads = []\ntry:\n    for _ in range(100):\n"
            "        t = threading.Thread(target=time.sleep, args=(5,), daemon=True); t.start(); threads.append(t)\n"
            "except RuntimeError:\n    print(len(threads))\n")  # fmt: skip
    assert int(_in_group(group, code).stdout) == 15


def test_the_processes_together_get_at_most_their_cpu_share(group) -> None:
    """Three busy processes in a group with half a core: together at most half a core."""
    code = ("import os, time\nfor _ in range(2):\n    if os.fork() == 0:\n        break\n"
            "t = time.time()\nwhile time.time() - t < 2:\n    pass\n")  # fmt: skip
    start = time.monotonic()
    _in_group(group, code)
    wall = time.monotonic() - start
    stats = group.stats()
    if "cpu_seconds" not in stats or not group.cpus:
        pytest.skip("no cpu controller or no CPU accounting here")
    assert stats["cpu_seconds"] <= 0.5 * wall * 1.15 + 0.05, (stats, wall)


def test_remove_kills_what_is_left_and_removes_the_folders(group) -> None:
    sleepers = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(SANDBOX)!r}); "
                                 f"import cgroups, os, time; cgroups.join({group.paths!r})\n"
                                 "for _ in range(5):\n    if os.fork() == 0:\n        os.setsid(); break\n"
                                 "time.sleep(60)"], start_new_session=True)  # fmt: skip
    end = time.monotonic() + 10
    while len(group.procs()) < 6 and time.monotonic() < end:
        time.sleep(0.02)
    assert len(group.procs()) == 6
    assert group.remove() == 6
    assert not group.exists() and sleepers.wait(timeout=10) != 0


def test_sweep_removes_a_dead_runs_groups_and_this_runs_only() -> None:
    """Groups named after an owner that is gone (a run killed with SIGKILL) or after the given
    owner are removed, with their processes; a live run's groups are left alone."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = cgroups.KernelGroup.create(owner=f"{dead.pid}.1")  # that pid, started then: gone
    if gone is None:
        pytest.skip("this process may not create cgroups")
    live_owner = cgroups.owner_tag(os.getppid())  # alive: pytest's parent
    live = cgroups.KernelGroup.create(owner=live_owner)
    run = cgroups.KernelGroup.create(owner="123456789.42")
    try:
        names = {g.name for g in cgroups.groups()}
        assert {gone.name, live.name, run.name} <= names
        assert {g.name for g in cgroups.groups(live_owner)} == {live.name}
        cgroups.sweep()  # owners that are gone: the dead process and the made-up run
        assert not gone.exists() and not run.exists() and live.exists()
        cgroups.sweep(live_owner)
        assert not live.exists()
    finally:
        for g in (gone, live, run):
            g.remove()


def test_attach_finds_the_folders_of_a_group(group) -> None:
    again = cgroups.KernelGroup.attach(group.paths)
    assert again.name == group.name and again.dirs == group.dirs


def test_hierarchies_are_ours_to_write_below() -> None:
    for h in cgroups.hierarchies():
        assert h.base.is_dir() and (h.base / "cgroup.procs").exists()
        assert h.version in (1, 2) and h.controllers <= cgroups.USEFUL
