"""Confinement of a grading kernel: its environment, resource limits, output, Landlock.

One function, :func:`confine`, is what a kernel process does to itself before any of its
own code runs, whether it was started by the launcher (:mod:`launcher`, then ``exec``) or
forked from a zygote (:mod:`zygote`), in both cases as the child of its keeper
(:mod:`reaper`); :func:`kernel_environment` is the environment it runs with. See the
launcher for what each step protects against.

Only the standard library is used (this runs before the kernel starts).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cgroups  # noqa: E402 (stand-alone script: sibling modules)
import landlock  # noqa: E402
import reaper  # noqa: E402

#: the grader's variables a kernel keeps (everything else it needs comes with ``--env``)
ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "TZ", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES")
ENV_KEEP_PREFIXES = ("LC_", "JPY_", "PYDEVD_")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
MB = 1024 * 1024
#: without a pids cgroup, RLIMIT_NPROC (per user, so shared by all of the grader's kernels) is
#: set this many times a kernel's own bound above the user's tasks when it starts: a backstop
#: for the keeper's look every half second (root is exempt from RLIMIT_NPROC)
NPROC_HEADROOM = 4

def kernel_environment(workdir: Path, extra: list[str]) -> dict[str, str]:
    """The kernel's environment: the allow-list of this process's, ``extra`` (``KEY=VALUE``),
    and every home, cache and temporary folder pointing into ``workdir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ENV_KEEP or k.startswith(ENV_KEEP_PREFIXES)
    }
    for item in extra:
        key, _, value = item.partition("=")
        env[key] = value
    home = str(workdir)
    for key in ("HOME", "TMPDIR", "TMP", "TEMP", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        env[key] = home
    env["IPYTHONDIR"] = str(workdir / ".ipython")
    env["MPLCONFIGDIR"] = str(workdir / ".matplotlib")
    env["JUPYTER_RUNTIME_DIR"] = str(workdir / ".runtime")
    env["KERAS_HOME"] = str(workdir / ".keras")
    env["TORCH_HOME"] = str(workdir / ".torch")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def copy_matplotlib_cache(workdir: Path) -> None:
    """Reuse the grader's font list: building it costs seconds and prints to stderr."""
    target = workdir / ".matplotlib"
    target.mkdir(exist_ok=True)
    for folder in (os.environ.get("MPLCONFIGDIR"), Path.home() / ".cache" / "matplotlib",
                   Path.home() / ".matplotlib"):  # fmt: skip
        if folder and Path(folder).is_dir():
            for font_list in Path(folder).glob("fontlist-*.json"):
                shutil.copy(font_list, target / font_list.name)
            return


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _user_tasks(uid: int) -> int:
    """Processes and threads of ``uid`` now (what RLIMIT_NPROC counts)."""
    tasks = 0
    for p in reaper.processes().values():
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{p.pid}").st_uid == uid:
                tasks += p.threads
    return tasks


def _set_limits(limits: dict[str, int]) -> None:
    def cap(which: int, soft: int, hard: int | None = None) -> None:
        _, old_hard = resource.getrlimit(which)
        hard = soft if hard is None else hard
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(which, (soft, hard))

    cap(resource.RLIMIT_DATA, limits["memory_mb"] * MB)
    cap(resource.RLIMIT_CPU, limits["cpu_seconds"], limits["cpu_seconds"] + 5)
    cap(resource.RLIMIT_FSIZE, limits["file_mb"] * MB)
    cap(resource.RLIMIT_NOFILE, limits["open_files"])
    cap(resource.RLIMIT_CORE, 0)
    if limits.get("max_tasks", 0) > 0 and os.getuid() != 0:
        cap(resource.RLIMIT_NPROC, _user_tasks(os.getuid()) + NPROC_HEADROOM * limits["max_tasks"])


def _drop_capabilities() -> None:
    """Empty the capability bounding set (no root powers after exec) and this process's own
    capabilities (a kernel forked from a zygote does not exec: it would keep them all)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break  # EINVAL: no such capability, we are past the last one
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    if libc.capset(ctypes.byref(header), (_CapData * 2)()) != 0:
        raise OSError(ctypes.get_errno(), "capset: could not drop the kernel's capabilities")


def _redirect_output(workdir: Path) -> None:
    log = os.open(workdir / "kernel.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def confine(workdir: Path, limits: dict[str, int], reads: list[str], ports: list[int],
            env: dict[str, str], use_landlock: bool = True, groups: list[str] | None = None) -> None:
    """Confine this process for good: move into ``workdir``, set ``limits``, join the kernel's
    cgroups ``groups`` (:mod:`cgroups`; a group that cannot be joined stops the kernel), send
    its output to ``workdir/kernel.log``, drop capabilities, apply Landlock (``reads``
    read-only, ``workdir`` and a few devices read-write, TCP binds to ``ports`` only; ``/sys``
    read-only, so the cgroups cannot be left). Records what was applied in
    ``env["VAECOURSE_SANDBOX"]``. Used before ``exec`` in the launcher's kernel and in a
    zygote's forked kernel."""
    os.chdir(workdir)
    _set_limits(limits)
    cgroups.join(groups or [])
    _redirect_output(workdir)
    if os.geteuid() == 0:
        _drop_capabilities()
    if use_landlock:
        abi = landlock.restrict(reads, [str(workdir), *DEVICES], bind_ports=ports)
        env["VAECOURSE_SANDBOX"] = f"landlock-abi-{abi}" if abi else "none (no Landlock)"
    else:
        env["VAECOURSE_SANDBOX"] = "limits-only"


def make_keeper(workdir: Path, state: Path, limits: dict[str, int], groups: list[str]) -> reaper.Keeper:
    """The keeper (:class:`reaper.Keeper`) of a kernel with these ``limits`` and cgroups."""
    group = cgroups.KernelGroup.attach(groups) if groups else None
    return reaper.Keeper(workdir=workdir, state=state, folder_mb=limits.get("folder_mb", 0),
                         max_tasks=limits.get("max_tasks", 0),
                         kill_group=group.kill if group is not None else None)  # fmt: skip
