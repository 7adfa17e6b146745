"""Confinement of a grading kernel: its environment, resource limits, output, Landlock.

One function, :func:`confine`, is what a kernel process does to itself before any of its
own code runs, whether it was started by the launcher (:mod:`launcher`, then ``exec``) or
forked from a zygote (:mod:`zygote`); :func:`kernel_environment` is the environment it runs
with. See the launcher for what each step protects against.

Only the standard library is used (this runs before the kernel starts).
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import landlock  # noqa: E402 (stand-alone script: sibling module)

#: the grader's variables a kernel keeps (everything else it needs comes with ``--env``)
ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "TZ", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES")
ENV_KEEP_PREFIXES = ("LC_", "JPY_", "PYDEVD_")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
PR_CAPBSET_DROP = 24
MB = 1024 * 1024

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


def _drop_capabilities() -> None:
    """Empty the capability bounding set: the kernel keeps no root powers after exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break  # EINVAL: no such capability, we are past the last one


def _redirect_output(workdir: Path) -> None:
    log = os.open(workdir / "kernel.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def confine(workdir: Path, limits: dict[str, int], reads: list[str], ports: list[int],
            env: dict[str, str], use_landlock: bool = True) -> None:
    """Confine this process for good: move into ``workdir``, set ``limits``, send its output to
    ``workdir/kernel.log``, drop capabilities, apply Landlock (``reads`` read-only, ``workdir``
    and a few devices read-write, TCP binds to ``ports`` only). Records what was applied in
    ``env["VAECOURSE_SANDBOX"]``. Used before ``exec`` here and in a zygote's forked kernel."""
    os.chdir(workdir)
    _set_limits(limits)
    _redirect_output(workdir)
    if os.geteuid() == 0:
        _drop_capabilities()
    if use_landlock:
        abi = landlock.restrict(reads, [str(workdir), *DEVICES], bind_ports=ports)
        env["VAECOURSE_SANDBOX"] = f"landlock-abi-{abi}" if abi else "none (no Landlock)"
    else:
        env["VAECOURSE_SANDBOX"] = "limits-only"
