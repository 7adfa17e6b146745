"""The kernel manager the grader uses: every kernel starts inside the sandbox launcher.

:class:`SandboxKernelManager` is jupyter_client's ``AsyncKernelManager`` with the kernel
command wrapped by ``autograder/sandbox/launcher.py`` (limits, Landlock, private temporary
folder; see that module and the README for what it protects against). It knows nothing
about the course: what a kernel may read and which environment it gets come in as settings
(traitlets, configurable like any nbgrader option; the course's values are set in
:func:`autograder.pipeline.settings.apply_settings`). The limits below are the sandbox's own
defaults (``c.SandboxKernelManager.memory_mb = 4096`` in ``nbgrader_config.py`` changes one).

With ``preload`` set (the grader sets it per notebook to the frameworks the notebook
imports, see :class:`autograder.sandbox.execute.GuardedExecute`), kernels are forked from a
zygote that has imported those modules already (:mod:`autograder.sandbox.zygote`): one zygote
per set of modules and kernel environment, started on first use and stopped when the process
exits (:func:`stop_zygotes`), or started ahead by the process that starts the grading
workers and shared with them (:func:`share_zygotes`). The kernel is confined exactly as without.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import multiprocessing.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Float, Integer, List, Unicode

from . import reaper
from .cgroups import KernelGroup

LAUNCHER = Path(__file__).resolve().parent / "launcher.py"
ZYGOTE = Path(__file__).resolve().parent / "zygote.py"
#: modules every zygote imports: what any kernel imports to start, and common libraries that
#: change nothing by being imported (unlike a deep-learning framework, which libraries detect)
BASE_PRELOAD = ("numpy", "ipykernel.kernelapp", "matplotlib.pyplot", "scipy.stats", "PIL.Image")
#: the limits every grading kernel gets unless configured otherwise
MEMORY_MB = 2048
CPU_SECONDS = 900
FILE_MB = 256
#: processes and threads of a kernel at once, itself included (a TensorFlow kernel has 12-17
#: threads; the largest peak of the real assignments' reference kernels is in the README)
MAX_TASKS = 64
#: size of a kernel's private folder (its HOME and TMPDIR)
FOLDER_MB = 512
#: seconds a kernel manager waits for a kernel's keeper to finish its sweep
SWEEP_WAIT = 15.0


class SandboxKernelManager(AsyncKernelManager):
    """Starts kernels through the sandbox launcher (limits + Landlock)."""

    sandbox = Bool(True, help="Run kernels in the sandbox (False: plain kernels).").tag(config=True)
    landlock = Bool(True, help="Apply Landlock file/network isolation.").tag(config=True)
    memory_mb = Integer(MEMORY_MB, help="Data segment limit of a kernel (MiB).").tag(config=True)
    cpu_seconds = Integer(CPU_SECONDS, help="CPU seconds a kernel may use in all.").tag(config=True)
    file_mb = Integer(FILE_MB, help="Largest file a kernel may write (MiB).").tag(config=True)
    folder_mb = Integer(FOLDER_MB, help="Size of a kernel's private folder (MiB; 0: no limit).").tag(config=True)
    max_tasks = Integer(MAX_TASKS, help="Processes and threads of a kernel at once, itself included "
                        "(0: no bound).").tag(config=True)
    cpus = Float(0.0, help="CPU time of a kernel's processes together, in cores (0: no limit); the "
                 "grader sets its workers' share, cores / workers.").tag(config=True)
    cgroups = Bool(True, help="Give each kernel cgroups of its own where this process may create "
                   "them (a hard bound on tasks, the CPU share, a clean kill).").tag(config=True)
    extra_reads = List(Unicode(), help="Read-only paths for kernels besides Python and the system "
                       "(the packages the notebooks import, the data).").tag(config=True)
    kernel_env = Dict(help="Environment variables set for every kernel (besides a short "
                      "allow-list of the grader's own, see the launcher).").tag(config=True)

    ipython_config = List(Unicode(), help="Lines of the kernel's ipython_kernel_config.py "
                          "(e.g. c.InlineBackend.figure_formats = set()).").tag(config=True)
    zygote = Bool(True, help="Fork kernels from a zygote that has imported `preload` "
                  "(False: every kernel starts from scratch).").tag(config=True)
    base_preload = List(Unicode(), list(BASE_PRELOAD), help="Modules every zygote imports.").tag(config=True)
    preload = List(Unicode(), help="Modules the kernel's zygote imports besides "
                   "base_preload; set per notebook by the grader.").tag(config=True)

    #: the kernel's private folder (HOME, TMPDIR) and, outside its reach, the launcher's state folder
    workdir: str | None = None
    state: str | None = None
    group: KernelGroup | None = None
    zygote_used: str | None = None  # the socket of the zygote that forked the kernel

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        #: one entry per kernel this manager started and ended: its folder, its cgroup's
        #: statistics, how many leftover processes were killed, why the keeper stopped it
        self.kernels: list[dict[str, Any]] = []

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if not self.sandbox:
            return cmd
        self.state = tempfile.mkdtemp(prefix="vaecourse-kernel-")
        self.workdir = os.path.join(self.state, "home")
        os.mkdir(self.workdir, 0o700)
        self.group = KernelGroup.create(self.max_tasks, self.cpus) if self.cgroups else None
        if self.group is not None:
            _LIVE_GROUPS[self.group.name] = self.group
        if self.ipython_config:  # the launcher points IPYTHONDIR at <workdir>/.ipython
            profile = Path(self.workdir) / ".ipython" / "profile_default"
            profile.mkdir(parents=True)
            (profile / "ipython_kernel_config.py").write_text("\n".join(self.ipython_config) + "\n")
        wrapper = [sys.executable, str(LAUNCHER), "--workdir", self.workdir, "--state", self.state,
                   "--memory-mb", str(self.memory_mb), "--cpu-seconds", str(self.cpu_seconds),
                   "--file-mb", str(self.file_mb), "--folder-mb", str(self.folder_mb)]  # fmt: skip
        for path in self.group.paths if self.group is not None else []:
            wrapper += ["--cgroup", path]
        if self.max_tasks > 0 and not (self.group is not None and self.group.bounds_tasks):
            wrapper += ["--max-tasks", str(self.max_tasks)]  # the keeper watches instead
        for path in self.extra_reads:
            wrapper += ["--read", path]
        for key, value in self.kernel_env.items():
            wrapper += ["--env", f"{key}={value}"]
        if not self.landlock:
            wrapper.append("--no-landlock")
        if self.zygote:
            socket_path = zygote_socket((*self.base_preload, *self.preload), self.kernel_env)
            if socket_path:
                wrapper += ["--zygote", socket_path]
                self.zygote_used = socket_path
        return [*wrapper, "--", *cmd]

    def kernel_pid(self) -> int | None:
        """The kernel's process id (not its launcher's), if known."""
        if self.state:
            with contextlib.suppress(OSError, ValueError):
                return int((Path(self.state) / reaper.PID_FILE).read_text())
        process = getattr(getattr(self, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        env = dict(kw.pop("env", None) or os.environ)
        env.update(self.kernel_env)
        kw["env"] = env
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel

    def kernel_log_tail(self, limit: int = 2000) -> str:
        """The end of the kernel's own stdout/stderr (why it died), or ''."""
        if not self.workdir:
            return ""
        log = Path(self.workdir) / "kernel.log"
        try:
            with open(log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - limit))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        await self._end_kernel()

    cleanup_resources = _async_cleanup_resources

    async def _end_kernel(self) -> None:
        """After the kernel's launcher is gone: wait for the keeper's sweep, remove the cgroups
        (what is left in them is killed) and the folders; record it in :attr:`kernels`."""
        if not self.state:
            return
        state, group = Path(self.state), self.group
        record: dict[str, Any] = {"folder": self.workdir, "state": self.state, "zygote": self.zygote_used,
                                  "killed": 0, "reason": ""}  # fmt: skip
        end = time.monotonic() + SWEEP_WAIT
        while _locked(state / reaper.LOCK) and time.monotonic() < end:
            await asyncio.sleep(0.02)
        with contextlib.suppress(OSError, ValueError):
            report = json.loads((state / reaper.REPORT).read_text())
            record["killed"], record["reason"] = int(report.get("killed", 0)), str(report.get("reason", ""))
        if group is not None:
            record.update(group.stats())
            record["killed"] += group.remove()  # nothing is left once the keeper has swept
            record["cgroup_removed"] = not group.exists()
            _LIVE_GROUPS.pop(group.name, None)
        remove_tree(state)
        self.kernels.append(record)
        self.state = self.workdir = self.zygote_used = None
        self.group = None


def _locked(path: Path) -> bool:
    """Whether another process holds ``path``'s lock (the keeper, while it runs)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def remove_tree(path: Path | str) -> None:
    """Remove a kernel's folder, also what the kernel made unwritable (``chmod 000``)."""

    def retry(function: Any, name: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
                shutil.rmtree(name, ignore_errors=True)
            else:
                function(name)

    shutil.rmtree(path, onerror=retry)


#: cgroups of kernels this process started that are not removed yet (removed at its exit)
_LIVE_GROUPS: dict[str, KernelGroup] = {}


def _remove_live_groups() -> None:
    while _LIVE_GROUPS:
        _, group = _LIVE_GROUPS.popitem()
        group.remove()


@dataclass
class _Zygote:
    process: subprocess.Popen
    socket: str
    workdir: str


#: this process's zygotes, by (modules, kernel environment)
_ZYGOTES: dict[tuple, _Zygote] = {}
#: zygotes started by the parent process and shared with its workers (JSON, see share_zygotes)
SHARED_ENV = "VAECOURSE_ZYGOTES"


def _key(modules: tuple[str, ...] | list[str], kernel_env: dict[str, str]) -> tuple:
    env = {k: v for k, v in kernel_env.items() if k != "PYTHONPATH"}
    return tuple(dict.fromkeys(modules)), tuple(sorted(env.items()))


def _shared(key: tuple) -> str | None:
    """The socket of a zygote for ``key`` that the parent process shares, if any."""
    try:
        entries = json.loads(os.environ.get(SHARED_ENV) or "[]")
    except ValueError:
        return None
    for entry in entries:
        if _key(entry["modules"], entry["env"]) == key and os.path.exists(entry["socket"]):
            return str(entry["socket"])
    return None


def share_zygotes(specs: Iterable[tuple[tuple[str, ...], dict[str, str]]]) -> None:
    """Start a zygote for each distinct ``(modules, kernel environment)`` (``PYTHONPATH``
    aside, as :func:`zygote_socket` keys them) in this process, and let the
    processes it starts from now on (the grading workers) use them: one import of the
    frameworks for the whole pool instead of one per worker. The zygotes accept requests
    from the launchers of this process's children; :func:`stop_zygotes` ends the sharing."""
    entries: dict[tuple, dict] = {}
    for modules, env in specs:
        key = _key(modules, env)
        socket_path = None if key in entries else zygote_socket(modules, env)
        if socket_path:
            entries[key] = {"modules": list(key[0]), "env": dict(key[1]), "socket": socket_path}
    if entries:
        os.environ[SHARED_ENV] = json.dumps(list(entries.values()))


def zygote_socket(modules: tuple[str, ...], kernel_env: dict[str, str], wait: float = 20.0) -> str | None:
    """The socket of this process's zygote for ``modules``, started if needed; None if it fails.

    The zygote takes on the kernels' environment except ``PYTHONPATH`` (each kernel puts its
    own first on ``sys.path``), so one zygote serves every assignment's kernels.
    """
    key = _key(modules, kernel_env)
    env = dict(key[1])
    found = _ZYGOTES.get(key)
    if found is not None and found.process.poll() is None:
        return found.socket
    shared = _shared(key)
    if shared:
        return shared
    if not _ZYGOTES:
        multiprocessing.util.Finalize(None, stop_zygotes, exitpriority=100)  # also runs in pool workers
    workdir = tempfile.mkdtemp(prefix="vaecourse-zygote-")
    socket_path = os.path.join(workdir, "zygote.sock")
    cmd = [sys.executable, str(ZYGOTE), "--socket", socket_path, "--workdir", workdir,
           "--preload", ",".join(key[0]), *(f"--env={k}={v}" for k, v in env.items())]  # fmt: skip
    with open(os.path.join(workdir, "zygote.log"), "ab") as log:
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    end = time.monotonic() + wait
    while not os.path.exists(socket_path):  # bound before the imports: seconds at most
        if process.poll() is not None or time.monotonic() > end:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            return None
        time.sleep(0.02)
    _ZYGOTES[key] = _Zygote(process, socket_path, workdir)
    return socket_path


def stop_zygotes() -> None:
    """Stop this process's zygotes (and any kernel still running from them); wait for them."""
    os.environ.pop(SHARED_ENV, None)
    while _ZYGOTES:
        _, z = _ZYGOTES.popitem()
        with contextlib.suppress(ProcessLookupError):
            z.process.send_signal(signal.SIGTERM)
        try:
            z.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            z.process.kill()
            z.process.wait()
        shutil.rmtree(z.workdir, ignore_errors=True)


multiprocessing.util.Finalize(None, _remove_live_groups, exitpriority=90)  # also runs in pool workers
