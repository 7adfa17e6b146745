"""Kernel launcher for grading: resource limits and file-system isolation, then ipykernel.

Run as ``python autograder/sandbox/launcher.py --workdir DIR --memory-mb M --cpu-seconds S
--file-mb F [options] -- <kernel command>``; the grader's kernel manager
(:mod:`autograder.sandbox.kernel`) builds that command line from its settings. The launcher
replaces itself with the kernel (``exec``), so the kernel keeps the pid, process group and
signals jupyter_client knows. Before that it:

1. moves into ``DIR`` (a fresh, private temporary folder) and points ``HOME``, ``TMPDIR``,
   the IPython/matplotlib/Keras/torch folders there; the environment is reduced to a short
   allow-list plus the ``--env`` variables (no credentials or course paths leak in);
2. copies the connection file into ``DIR`` (the runtime folder will be out of reach);
3. sets resource limits: data segment (memory), CPU seconds, size of any file written,
   open files, no core dumps; redirects the kernel's own stdout/stderr into ``DIR``;
4. drops every capability from the bounding set (matters when graders run as root);
5. applies Landlock (:mod:`landlock`): read-only access to the Python installation, system
   folders and the given ``--read`` paths (helpers package, data), full access to ``DIR``
   only; TCP limited to binding the kernel's five ports (no network); no signals to
   processes outside the sandbox.

Only the standard library is used (this runs before the kernel starts).
"""

from __future__ import annotations

import argparse
import ctypes
import json
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
SYSTEM_READ = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys", "/opt")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
PR_CAPBSET_DROP = 24
MB = 1024 * 1024
#: the checkout this launcher belongs to (solutions, gradebook): never readable by a kernel
CHECKOUT = Path(__file__).resolve().parents[2]


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: launcher.py --workdir DIR [options] -- KERNEL COMMAND")
    split = argv.index("--")
    p = argparse.ArgumentParser(prog="launcher.py")
    p.add_argument("--workdir", required=True)
    p.add_argument("--memory-mb", type=int, required=True, help="data segment limit (MiB)")
    p.add_argument("--cpu-seconds", type=int, required=True)
    p.add_argument("--file-mb", type=int, required=True, help="largest file written (MiB)")
    p.add_argument("--open-files", type=int, default=4096)
    p.add_argument("--read", action="append", default=[], help="extra read-only path")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE for the kernel")
    p.add_argument("--copy", action="append", default=[], help="file copied into the workdir")
    p.add_argument("--no-landlock", action="store_true", help="limits only (debugging)")
    return p.parse_args(argv[:split]), argv[split + 1 :]


def _environment(workdir: Path, extra: list[str]) -> dict[str, str]:
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


def _copy_matplotlib_cache(workdir: Path) -> None:
    """Reuse the grader's font list: building it costs seconds and prints to stderr."""
    target = workdir / ".matplotlib"
    target.mkdir(exist_ok=True)
    for folder in (os.environ.get("MPLCONFIGDIR"), Path.home() / ".cache" / "matplotlib",
                   Path.home() / ".matplotlib"):  # fmt: skip
        if folder and Path(folder).is_dir():
            for font_list in Path(folder).glob("fontlist-*.json"):
                shutil.copy(font_list, target / font_list.name)
            return


def _move_connection_file(cmd: list[str], workdir: Path) -> list[int]:
    """Copy the ``-f`` connection file into the workdir; return its TCP ports."""
    for i, arg in enumerate(cmd):
        if arg == "-f" and i + 1 < len(cmd):
            source = Path(cmd[i + 1])
            target = workdir / ".runtime" / source.name
            target.parent.mkdir(exist_ok=True)
            shutil.copy(source, target)
            cmd[i + 1] = str(target)
            info = json.loads(target.read_text())
            return [int(v) for k, v in info.items() if k.endswith("_port")]
    raise SystemExit("launcher.py: the kernel command has no '-f CONNECTION_FILE'")


def _set_limits(args: argparse.Namespace) -> None:
    def cap(which: int, soft: int, hard: int | None = None) -> None:
        _, old_hard = resource.getrlimit(which)
        hard = soft if hard is None else hard
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(which, (soft, hard))

    cap(resource.RLIMIT_DATA, args.memory_mb * MB)
    cap(resource.RLIMIT_CPU, args.cpu_seconds, args.cpu_seconds + 5)
    cap(resource.RLIMIT_FSIZE, args.file_mb * MB)
    cap(resource.RLIMIT_NOFILE, args.open_files)
    cap(resource.RLIMIT_CORE, 0)


def _drop_capabilities() -> None:
    """Empty the capability bounding set: the kernel keeps no root powers after exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break  # EINVAL: no such capability, we are past the last one


def _read_paths(extra: list[str]) -> list[str]:
    """Python's own folders, the system's, ``extra``, and the other folders on ``sys.path``
    except those inside :data:`CHECKOUT`."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, *SYSTEM_READ, *extra}
    for entry in sys.path[1:]:
        if entry and Path(entry).exists() and not Path(entry).resolve().is_relative_to(CHECKOUT):
            paths.add(entry)
    return sorted(p for p in paths if p)


def _redirect_output(workdir: Path) -> None:
    log = os.open(workdir / "kernel.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def main(argv: list[str] | None = None) -> None:
    """Apply the limits and the sandbox, then exec the kernel command."""
    args, cmd = _parse(sys.argv[1:] if argv is None else argv)
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)
    ports = _move_connection_file(cmd, workdir)
    cmd[0] = shutil.which(cmd[0]) or cmd[0]
    for item in args.copy:
        if Path(item).is_file():
            shutil.copy(item, workdir / Path(item).name)
    _copy_matplotlib_cache(workdir)
    env = _environment(workdir, args.env)
    reads = _read_paths(args.read)
    os.chdir(workdir)
    _set_limits(args)
    _redirect_output(workdir)
    if os.geteuid() == 0:
        _drop_capabilities()
    if not args.no_landlock:
        abi = landlock.restrict(reads, [str(workdir), *DEVICES], bind_ports=ports)
        env["VAECOURSE_SANDBOX"] = f"landlock-abi-{abi}" if abi else "none (no Landlock)"
    else:
        env["VAECOURSE_SANDBOX"] = "limits-only"
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
