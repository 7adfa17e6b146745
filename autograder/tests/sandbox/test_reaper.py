"""The keeper: whatever a kernel starts ends with it, and the kernel stays within its limits.

Each test runs a stand-in launcher (a short script, in a process of its own, so that this
test process never becomes a subreaper) that forks a keeper over a socket pair, as the
launcher and the zygote do; the keeper's "kernel" is a Python function that starts processes
which try to outlive it (sessions of their own, a double fork, SIGTERM ignored, a chain of
forks) and writes down who they are. Then the launcher is killed, or the kernel exits, or the
keeper is stopped, and every one of them must be gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.sandbox import reaper

SANDBOX = Path(reaper.__file__).resolve().parent
#: (name, how many processes the stand-in kernel starts and writes down)
STORM = 20 + 5 + 2 + 11
LAUNCHER = r"""
import json, os, signal, socket, sys, time
from pathlib import Path
sys.path.insert(0, {sandbox!r})
import reaper

workdir, state, mode = Path({workdir!r}), Path({state!r}), {mode!r}
pids = state / "pids.txt"

def kernel():
    out = open(pids, "a", buffering=1)
    def note():
        out.write(f"{{os.getpid()}} {{reaper.read_proc(os.getpid()).start}}\n")
    def spawn(body):
        if os.fork() == 0:
            try:
                body()
            finally:
                os._exit(0)
    def sleeper():
        os.setsid(); note(); time.sleep(600)
    def double():
        os.setsid()
        if os.fork() == 0:
            note(); time.sleep(600)
    def deaf():
        os.setsid()
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        note()
        while True:
            pass
    def chain(depth):
        note()
        if depth and os.fork() == 0:
            chain(depth - 1)
        time.sleep(600)
    if mode == "folder":
        (workdir / "big.bin").write_bytes(b"x" * 3 * 1024 * 1024)
        time.sleep(600)
    for _ in range(20):
        spawn(sleeper)
    if mode == "tasks":
        time.sleep(600)
    for _ in range(5):
        spawn(double)
    for _ in range(2):
        spawn(deaf)
    spawn(lambda: chain(10))
    while len(pids.read_text().splitlines()) < {storm}:
        time.sleep(0.01)
    if mode == "exit":
        os._exit(3)
    time.sleep(600)

ours, theirs = socket.socketpair()
keeper = os.fork()
if keeper == 0:
    ours.close()
    reaper.Keeper(workdir=workdir, state=state, folder_mb=1 if mode == "folder" else 0,
                  max_tasks=10 if mode == "tasks" else 0).run(theirs, kernel)
theirs.close()
for line in ours.makefile():
    print(json.dumps({{**json.loads(line), "keeper": keeper}}), flush=True)
"""


def _alive(pid: int, start: int) -> bool:
    p = reaper.read_proc(pid)
    return p is not None and p.start == start and p.state not in "ZX"


def _wait_gone(procs: list[tuple[int, int]], seconds: float = 15.0) -> list[tuple[int, int]]:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        left = [p for p in procs if _alive(*p)]
        if not left:
            return []
        time.sleep(0.05)
    return left


def _start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, dict, Path]:
    workdir, state = tmp_path / "home", tmp_path / "state"
    workdir.mkdir()
    state.mkdir()
    (state / "pids.txt").write_text("")
    script = LAUNCHER.format(sandbox=str(SANDBOX), workdir=str(workdir), state=str(state), mode=mode, storm=STORM)
    launcher = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                                start_new_session=True)  # fmt: skip
    first = json.loads(launcher.stdout.readline())
    assert "pid" in first, first
    return launcher, first, state


def _storm(state: Path, expected: int = STORM) -> list[tuple[int, int]]:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        lines = (state / "pids.txt").read_text().splitlines()
        if len(lines) >= expected:
            return [(int(a), int(b)) for a, b in (line.split() for line in lines)]
        time.sleep(0.02)
    raise AssertionError(f"the stand-in kernel started {len(lines)} of {expected} processes")


def _report(state: Path) -> dict:
    end = time.monotonic() + 15
    while time.monotonic() < end:
        try:
            return json.loads((state / reaper.REPORT).read_text())
        except (OSError, ValueError):
            time.sleep(0.05)
    raise AssertionError("the keeper wrote no report")


def test_killing_the_launcher_ends_every_process_the_kernel_started(tmp_path: Path) -> None:
    """jupyter_client kills the launcher's process group with SIGKILL: the keeper (a session of
    its own) sees its end of the socket close and sweeps setsid sleepers, orphaned grandchildren,
    busy children that ignore SIGTERM and a chain of forks."""
    launcher, first, state = _start(tmp_path, "kill")
    storm = _storm(state)
    assert all(_alive(*p) for p in storm)
    os.killpg(launcher.pid, signal.SIGKILL)
    launcher.wait()
    assert _wait_gone([*storm, (first["pid"], reaper.read_proc(first["pid"]).start)]) == []
    report = _report(state)
    assert report["killed"] >= STORM and report["reason"] == ""


def test_a_kernel_that_exits_leaves_nothing_behind(tmp_path: Path) -> None:
    launcher, first, state = _start(tmp_path, "exit")
    storm = _storm(state)
    end = json.loads(launcher.stdout.readline())  # the keeper reports after its sweep
    launcher.wait(timeout=30)
    assert end["exit"] == 3 and end["killed"] >= STORM and end["reason"] == ""
    assert [p for p in storm if _alive(*p)] == []


def test_stopping_the_keeper_sweeps(tmp_path: Path) -> None:
    """SIGTERM to a keeper (the zygote stopping) ends its kernel and everything below."""
    launcher, first, state = _start(tmp_path, "kill")
    storm = _storm(state)
    os.kill(first["keeper"], signal.SIGTERM)
    end = json.loads(launcher.stdout.readline())
    launcher.wait(timeout=30)
    assert end["exit"] == -signal.SIGKILL and end["killed"] >= STORM
    assert [p for p in storm if _alive(*p)] == []


def test_a_kernel_over_its_folder_limit_is_stopped(tmp_path: Path) -> None:
    launcher, first, state = _start(tmp_path, "folder")
    end = json.loads(launcher.stdout.readline())
    launcher.wait(timeout=30)
    assert end["reason"] == "the kernel's folder grew past its limit of 1 MB"
    assert "[grader] the kernel's folder grew past its limit" in (tmp_path / "home" / "kernel.log").read_text()


def test_without_a_pids_cgroup_the_keeper_bounds_the_tasks(tmp_path: Path) -> None:
    launcher, first, state = _start(tmp_path, "tasks")
    storm = _storm(state, 20)
    end = json.loads(launcher.stdout.readline())
    launcher.wait(timeout=30)
    assert end["reason"] == "the kernel started more than 10 processes and threads"
    assert [p for p in storm if _alive(*p)] == []


def test_a_reused_pid_is_never_signalled() -> None:
    """A process is named by its pid and start time: the same pid with another start time is
    another process (a reused pid), and ``send`` leaves it alone."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        me = reaper.read_proc(sleeper.pid)
        assert me is not None and me.ppid == os.getpid()
        assert reaper.send(reaper.Proc(me.pid, me.ppid, me.state, 1, me.start + 1), signal.SIGKILL) is False
        assert sleeper.poll() is None
        assert reaper.send(me, signal.SIGKILL, belongs=lambda pid: False) is False
        assert reaper.send(me, signal.SIGKILL) is True
        assert sleeper.wait(timeout=10) == -signal.SIGKILL
    finally:
        sleeper.kill()


def test_descendants_follow_the_tree_and_skip_excluded_subtrees() -> None:
    table = {p.pid: p for p in [reaper.Proc(1, 0, "S", 1, 0), reaper.Proc(10, 1, "S", 1, 0),
                                reaper.Proc(11, 10, "S", 3, 0), reaper.Proc(12, 11, "Z", 1, 0),
                                reaper.Proc(20, 1, "S", 1, 0), reaper.Proc(21, 20, "S", 1, 0)]}  # fmt: skip
    assert sorted(p.pid for p in reaper.descendants(1, table=table)) == [10, 11, 12, 20, 21]
    assert sorted(p.pid for p in reaper.descendants(1, exclude=[20], table=table)) == [10, 11, 12]
    assert reaper.descendants(21, table=table) == []


def test_folder_usage_counts_blocks_and_entries_without_following_links(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.bin").write_bytes(os.urandom(256 * 1024))
    (tmp_path / "link").symlink_to("/usr")  # not followed
    size, entries = reaper.folder_usage(tmp_path)
    assert 256 * 1024 <= size < 1024 * 1024 and entries == 3
    assert reaper.folder_verdict(tmp_path, 1) == "" and reaper.folder_verdict(tmp_path, 0) == ""
    (tmp_path / "g.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    assert "past its limit of 1 MB" in reaper.folder_verdict(tmp_path, 1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGUSR1])
def test_the_forwarder_holds_signals_until_the_kernel_is_known(sig: int) -> None:
    script = (f"import os, signal, sys, time; sys.path.insert(0, {str(SANDBOX)!r}); import reaper\n"
              "f = reaper.Forwarder()\nos.kill(os.getpid(), %d)\n"
              "child = os.fork()\nif child == 0:\n    signal.signal(%d, lambda *a: os._exit(42))\n    time.sleep(30)\n    os._exit(0)\n"
              "time.sleep(0.3)\nf.started(child)\nprint(os.waitpid(child, 0)[1] >> 8)") % (sig, sig)  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "42", done.stderr
