"""The kernel manager the grader uses: every kernel starts inside the sandbox launcher.

:class:`SandboxKernelManager` is jupyter_client's ``AsyncKernelManager`` with the kernel
command wrapped by ``autograder/sandbox/launcher.py`` (limits, Landlock, private temporary
folder; see that module and the README for what it protects against). It knows nothing
about the course: what a kernel may read and which environment it gets come in as settings
(traitlets, configurable like any nbgrader option; the course's values are set in
:func:`autograder.pipeline.settings.apply_settings`). The limits below are the sandbox's own
defaults (``c.SandboxKernelManager.memory_mb = 4096`` in ``nbgrader_config.py`` changes one).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Integer, List, Unicode

LAUNCHER = Path(__file__).resolve().parent / "launcher.py"
#: the limits every grading kernel gets unless configured otherwise
MEMORY_MB = 2048
CPU_SECONDS = 900
FILE_MB = 256


class SandboxKernelManager(AsyncKernelManager):
    """Starts kernels through the sandbox launcher (limits + Landlock)."""

    sandbox = Bool(True, help="Run kernels in the sandbox (False: plain kernels).").tag(config=True)
    landlock = Bool(True, help="Apply Landlock file/network isolation.").tag(config=True)
    memory_mb = Integer(MEMORY_MB, help="Data segment limit of a kernel (MiB).").tag(config=True)
    cpu_seconds = Integer(CPU_SECONDS, help="CPU seconds a kernel may use in all.").tag(config=True)
    file_mb = Integer(FILE_MB, help="Largest file a kernel may write (MiB).").tag(config=True)
    extra_reads = List(Unicode(), help="Read-only paths for kernels besides Python and the system "
                       "(the packages the notebooks import, the data).").tag(config=True)
    kernel_env = Dict(help="Environment variables set for every kernel (besides a short "
                      "allow-list of the grader's own, see the launcher).").tag(config=True)

    workdir: str | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if not self.sandbox:
            return cmd
        self.workdir = tempfile.mkdtemp(prefix="vaecourse-kernel-")
        wrapper = [sys.executable, str(LAUNCHER), "--workdir", self.workdir,
                   "--memory-mb", str(self.memory_mb), "--cpu-seconds", str(self.cpu_seconds),
                   "--file-mb", str(self.file_mb)]  # fmt: skip
        for path in self.extra_reads:
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
