"""Kernels forked from a zygote: the frameworks preloaded, the sandbox unchanged, the kernel's
life tied to its launcher (interrupt, kill) and to the zygote, only the grader's launchers served.

The sandbox itself (what a kernel may read, write, signal; its limits) is checked for both
ways of starting a kernel by ``test_kernel.py``'s probe.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.sandbox import landlock, reaper, zygote
from autograder.sandbox.kernel import (
    _ZYGOTES,
    SandboxKernelManager,
    share_zygotes,
    stop_zygotes,
    zygote_socket,
)

from .test_kernel import SETTINGS

#: a module no kernel imports by itself, cheap to preload
MARKER = "tomllib"


async def _session(code_steps, **traits):
    """Start a kernel, run ``code_steps(km, kc)`` (a coroutine function), shut it down."""
    km = SandboxKernelManager(kernel_name="python3", **{**SETTINGS, **traits})
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=120)
        return await code_steps(km, kc)
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


async def _run(kc, code: str, timeout: float = 60) -> tuple[str, str]:
    out: list[str] = []
    reply = await kc.execute_interactive(
        code, timeout=timeout,
        output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
    )  # fmt: skip
    return reply["content"]["status"], "".join(out)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def _dies(pid: int, seconds: float = 5.0) -> bool:
    """True once ``pid`` is gone (or a zombie), False if it still runs after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if not _alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


def test_a_forked_kernel_has_the_preloaded_modules_its_own_path_and_environment() -> None:
    code = ("import sys, os, json\nprint(json.dumps({'marker': %r in sys.modules, 'path': sys.path[:2], "
            "'cwd': os getcwd(), 'pid': os.getpid(), 'ppid': os.getppid(), 'env': os.environ.get('COURSE_SETTING'), 'frozen': __import__('gc').get_freeze_count()}))")
    code = code.replace("os getcwd", "os.getcwd") % MARKER

    async def steps(km, kc):
        status, out = await _run(kc, code)
        assert status == "ok", out
        return json.loads(out), km.kernel_pid(), km.provisioner.process.pid, Path(km.workdir)

    extra = "/nonexistent/student-build"
    env = {**SETTINGS["kernel_env"], "PYTHONPATH": extra}
    seen, pid, launcher_pid, workdir = asyncio.run(_session(steps, preload=[MARKER], kernel_env=env))
    assert seen["marker"] is True  # imported by the zygote, before the fork
    assert seen["pid"] == pid != launcher_pid and seen["ppid"] != launcher_pid  # a zygote's child
    assert seen["path"][0] == extra  # PYTHONPATH first
    assert seen["cwd"] == str(workdir) and seen["env"] == "from-the-caller"
    assert seen["frozen"] > 10_000  # the preloaded objects: the kernel's garbage collections skip them
    plain, *_ = asyncio.run(_session(steps, preload=[MARKER], kernel_env=env, zygote=False))
    assert plain["marker"] is False and plain["path"] == seen["path"]  # as ipykernel_launcher leaves it
    assert plain["frozen"] == 0


def test_one_zygote_serves_every_assignment() -> None:
    """PYTHONPATH (the assignment's student build) is the kernel's business, not the zygote's."""
    stop_zygotes()
    a = zygote_socket(("numpy",), {"X": "1", "PYTHONPATH": "/a"})
    b = zygote_socket(("numpy",), {"X": "1", "PYTHONPATH": "/b"})
    c = zygote_socket(("numpy",), {"X": "2"})
    try:
        assert a == b != c and len(_ZYGOTES) == 2
    finally:
        stop_zygotes()
    assert not _ZYGOTES and not Path(a).exists()


def test_interrupt_reaches_the_forked_kernel() -> None:
    async def steps(km, kc):
        msg_id = kc.execute("import time\nwhile True: time.sleep(0.01)")
        await asyncio.sleep(2)
        await km.interrupt_kernel()
        while True:
            reply = await kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]

    content = asyncio.run(_session(steps))
    assert content["status"] == "error" and content["ename"] == "KeyboardInterrupt"


def test_killing_the_launcher_kills_the_kernel() -> None:
    """jupyter_client kills a kernel by killing the process it started: the launcher."""

    async def steps(km, kc):
        pid = km.kernel_pid()
        assert pid and _alive(pid)
        km.provisioner.process.kill()
        return await _dies(pid)

    assert asyncio.run(_session(steps)) is True


def test_a_kernel_that_exits_ends_its_launcher() -> None:
    async def steps(km, kc):
        kc.execute("import os; os._exit(3)")
        for _ in range(100):
            if not await km.is_alive():
                return km.provisioner.process.returncode
            await asyncio.sleep(0.05)
        return None

    assert asyncio.run(_session(steps)) == 3


def test_the_zygote_kills_the_orphans_of_a_keeper_killed_from_outside() -> None:
    """Only a keeper killed from outside (no kernel can signal it under Landlock) leaves
    orphans; they are re-parented to the zygote, a subreaper too, which kills them."""
    code = ("import os, time\nfor _ in range(5):\n    if os.fork() == 0:\n        os.setsid(); time.sleep(600); os._exit(0)\n"
            "print(os.getppid())")  # fmt: skip

    async def steps(km, kc):
        status, out = await _run(kc, code)
        keeper, kernel = int(out), reaper.read_proc(km.kernel_pid())
        storm = [p for p in reaper.processes().values() if p.ppid == kernel.pid]
        assert status == "ok" and len(storm) == 5
        os.kill(keeper, signal.SIGKILL)
        return [await _dies(pid) for pid in (kernel.pid, *(p.pid for p in storm))]

    assert all(asyncio.run(_session(steps, cgroups=False)))  # no cgroup: the zygote alone


def test_stopping_the_zygote_stops_its_kernels() -> None:
    async def steps(km, kc):
        pid = km.kernel_pid()
        stop_zygotes()
        return await _dies(pid)

    assert asyncio.run(_session(steps)) is True


def _raw_request(socket_path: str, request: dict) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(socket_path)
        s.sendall(json.dumps(request).encode() + b"\n")
        return s.recv(4096).decode()


def test_only_requests_with_the_token_are_served(tmp_path: Path) -> None:
    """The token next to the socket is the key: without it (a sandboxed kernel cannot read it)
    no kernel is forked; the file is private to the grader's user."""
    socket_path = zygote_socket(("numpy",), {})
    assert socket_path
    token = zygote.token_path(socket_path)
    assert token.stat().st_mode & 0o077 == 0 and token.parent.stat().st_mode & 0o077 == 0
    request = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "x.json"], "env": {},
               "workdir": str(tmp_path), "reads": [], "ports": [], "limits": {}, "landlock": False}  # fmt: skip
    for wrong in ({}, {"token": ""}, {"token": "0" * 64}, {"token": token.read_text()[:-1]}):
        assert "refused" in _raw_request(socket_path, {**request, **wrong})
    assert '"pid"' in _raw_request(socket_path, {**request, "token": token.read_text()})


def test_a_request_it_cannot_serve_is_refused(tmp_path: Path) -> None:
    assert zygote._refusal({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "c.json"]}) is None
    assert "another Python" in zygote._refusal({"argv": ["/usr/bin/python3.9", "-m", "ipykernel_launcher"]})
    assert "not an ipykernel" in zygote._refusal({"argv": [sys.executable, "-c", "print(1)"]})


def test_without_a_zygote_the_launcher_starts_the_kernel_itself(tmp_path: Path) -> None:
    """An unreachable zygote costs nothing: handoff says so at once, the kernel starts by exec
    (below its keeper, a child of the launcher)."""
    start = time.monotonic()
    assert zygote.handoff(str(tmp_path / "missing.sock"), {}, reaper.Forwarder(), tmp_path) is None
    assert time.monotonic() - start < 1
    for sig in reaper.FORWARDED:  # the forwarder's handlers are for a launcher, not for pytest
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)

    async def steps(km, kc):
        status, out = await _run(kc, "import os, sys; print(os.getpid(), os.getppid(), sys.argv[0])")
        pid, keeper, argv0 = out.split()
        return status, int(pid), reaper.read_proc(int(keeper)).ppid, argv0, km.provisioner.process.pid

    km_cmd = SandboxKernelManager.format_kernel_cmd

    def broken_zygote(self, extra_arguments=None):
        cmd = km_cmd(self, extra_arguments)
        at = cmd.index("--zygote")
        cmd[at + 1] = str(tmp_path / "missing.sock")
        return cmd

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SandboxKernelManager, "format_kernel_cmd", broken_zygote)
        status, kernel_pid, keepers_parent, argv0, launcher_pid = asyncio.run(_session(steps))
    assert status == "ok" and kernel_pid != launcher_pid and argv0.endswith("ipykernel_launcher.py")  # exec'd
    assert keepers_parent == launcher_pid


def test_the_zygote_exits_with_the_grader(tmp_path: Path) -> None:
    """A grader that dies without cleaning up leaves no zygote behind (parent-death signal)."""
    script = ("import sys, time; sys.path.insert(0, %r)\nfrom autograder.sandbox.kernel import zygote_socket, _ZYGOTES\n"
              "zygote_socket(('numpy',), {})\nprint(next(iter(_ZYGOTES.values())).process.pid, flush=True)\ntime.sleep(60)")
    grader = subprocess.Popen([sys.executable, "-c", script % str(Path(__file__).resolve().parents[3])],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        pid = int(grader.stdout.readline())
        assert _alive(pid)
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    for _ in range(200):
        if not _alive(pid):
            break
        time.sleep(0.05)
    assert not _alive(pid)


def _ask_from_child(socket_path: str, workdir: str) -> str:
    """In a worker process (a child of the test, as a pool worker is of the grader): ask the
    zygote for a kernel as a launcher does (with the token); what it was told."""
    request = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "x.json"], "env": {},
               "workdir": workdir, "reads": [], "ports": [], "limits": {}, "landlock": False,
               "token": zygote.token_path(socket_path).read_text()}  # fmt: skip
    return _raw_request(socket_path, request)


def test_shared_zygotes_serve_the_workers_launchers_and_refuse_kernels(tmp_path: Path) -> None:
    """share_zygotes: started by the grader, used by its workers' launchers; a sandboxed kernel
    (it cannot read the token) is refused."""
    import multiprocessing

    stop_zygotes()
    env = {"X": "shared"}
    share_zygotes([(("numpy",), env)])
    try:
        socket_path = zygote_socket(("numpy",), env)
        with multiprocessing.get_context("spawn").Pool(1) as pool:  # the worker sees the shared zygote
            assert pool.apply(zygote_socket, (("numpy",), {**env, "PYTHONPATH": "/x"})) == socket_path
            told = pool.apply(_ask_from_child, (socket_path, str(tmp_path)))
        assert '"pid"' in told  # served (the forked kernel then fails on the made-up request)

        async def steps(km, kc):  # a sandboxed kernel asks the same zygote
            token = str(zygote.token_path(socket_path))
            code = (f"import json, socket\ntry:\n    t = open({token!r}).read()\nexcept OSError as e:\n"
                    f"    t = ''; print('token unreadable', type(e).__name__)\n"
                    f"try:\n    s = socket.socket(socket.AF_UNIX); s.connect({socket_path!r})\n"
                    f"    s.sendall(json.dumps({{'argv': [], 'token': t}}).encode() + b'\\n'); print(s.recv(4096).decode())\n"
                    "except OSError as e:\n    print('blocked', type(e).__name__)")
            return await _run(kc, code)

        status, out = asyncio.run(_session(steps, kernel_env=env, extra_reads=[]))
        assert status == "ok" and '"pid"' not in out and ("refused" in out or "blocked" in out), out
        if landlock.abi_version() >= 1:
            assert "token unreadable PermissionError" in out, out
    finally:
        stop_zygotes()
    assert "VAECOURSE_ZYGOTES" not in os.environ
