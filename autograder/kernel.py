"""The kernel manager the grader uses: every kernel starts inside the sandbox launcher.

:class:`SandboxKernelManager` is jupyter_client's ``AsyncKernelManager`` with the kernel
command wrapped by ``autograder/sandbox.py`` (limits, Landlock, private temporary folder;
see that module and the README for what it protects against). Its settings are traitlets,
configurable like any nbgrader option (``c.SandboxKernelManager.memory_mb = 4096``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Integer, List, Unicode

from .course import GRADING_PROFILE

SANDBOX_PY = Path(__file__).resolve().parent / "sandbox.py"


def package_dir(name: str) -> str | None:
    """The folder of an importable package, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))).resolve())


def _default_reads() -> list[str]:
    helpers = package_dir("vaecourse")
    # the folder on sys.path that holds the package (an editable install adds helpers/src)
    reads = [str(Path(helpers).parent) if helpers else None]
    for var in ("VAECOURSE_DATA", "VAECOURSE_CACHE"):
        if os.environ.get(var):
            reads.append(str(Path(os.environ[var]).expanduser().resolve()))
    if not os.environ.get("VAECOURSE_CACHE"):
        reads.append(str(Path.home() / ".cache" / "vaecourse"))  # pre-extracted datasets
    return [r for r in reads if r]


class SandboxKernelManager(AsyncKernelManager):
    """Starts kernels through the sandbox launcher (limits + Landlock)."""

    sandbox = Bool(True, help="Run kernels in the sandbox (False: plain kernels).").tag(config=True)
    landlock = Bool(True, help="Apply Landlock file/network isolation.").tag(config=True)
    memory_mb = Integer(3072, help="Data segment limit of a kernel (MiB).").tag(config=True)
    cpu_seconds = Integer(900, help="CPU seconds a kernel may use in all.").tag(config=True)
    file_mb = Integer(256, help="Largest file a kernel may write (MiB).").tag(config=True)
    extra_reads = List(Unicode(), help="More read-only paths for kernels.").tag(config=True)
    kernel_env = Dict(
        {
            "VAECOURSE_PROFILE": GRADING_PROFILE,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_ENABLE_ONEDNN_OPTS": "0",
            "MPLBACKEND": "Agg",
            "PYTHONHASHSEED": "0",
            "PYTHONWARNINGS": "ignore",
        },
        help="Environment variables set for every grading kernel.",
    ).tag(config=True)

    workdir: str | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if not self.sandbox:
            return cmd
        self.workdir = tempfile.mkdtemp(prefix="vaecourse-kernel-")
        wrapper = [sys.executable, str(SANDBOX_PY), "--workdir", self.workdir,
                   "--memory-mb", str(self.memory_mb), "--cpu-seconds", str(self.cpu_seconds),
                   "--file-mb", str(self.file_mb)]  # fmt: skip
        for path in [*_default_reads(), *self.extra_reads]:
            wrapper += ["--read", path]
        for key, value in self.kernel_env.items():
            wrapper += ["--env", f"{key}={value}"]
        if not self.landlock:
            wrapper.append("--no-landlock")
        return [*wrapper, "--", *cmd]

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
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    cleanup_resources = _async_cleanup_resources
