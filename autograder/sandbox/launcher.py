"""Kernel launcher for grading: resource limits and file-system isolation, then ipykernel.

Run as ``python autograder/sandbox/launcher.py --workdir DIR --memory-mb M --cpu-seconds S
--file-mb F [options] -- <kernel command>``; the grader's kernel manager
(:mod:`autograder.sandbox.kernel`) builds that command line from its settings. The launcher
is the process jupyter_client knows as the kernel: it passes interrupts and terminations on
to the kernel and exits with the kernel's exit code; killing it (jupyter_client kills its
process group) ends the kernel and everything the kernel started. The kernel runs below a
*keeper* (:mod:`reaper`): a child subreaper in a session of its own that sweeps every
descendant of the kernel when the kernel exits or the launcher goes away. Before the kernel's
first line of code:

1. the launcher moves into ``DIR`` (a fresh, private temporary folder) and points ``HOME``,
   ``TMPDIR``, the IPython/matplotlib/Keras/torch folders there; the environment is reduced to
   a short allow-list plus the ``--env`` variables (no credentials or course paths leak in);
2. copies the connection file into ``DIR`` (the runtime folder will be out of reach);
3. the kernel sets resource limits: data segment (memory), CPU seconds, size of any file
   written, open files, no core dumps; joins its cgroups (``--cgroup``, :mod:`cgroups`:
   processes and threads, CPU share); redirects its own stdout/stderr into ``DIR``;
4. drops every capability (matters when graders run as root);
5. applies Landlock (:mod:`landlock`): read-only access to the Python installation, system
   folders and the given ``--read`` paths (helpers package, data), full access to ``DIR``
   only; TCP limited to binding the kernel's five ports (no network); no signals to
   processes outside the sandbox.

The keeper bounds ``DIR`` (``--folder-mb``) and, where no cgroup does, the kernel's processes
and threads (``--max-tasks``). ``--state STATE`` is a folder outside the kernel's reach for the
kernel's pid, the keeper's lock and its report (what it had to kill), read by the kernel manager.

With ``--zygote SOCKET`` the keeper and the kernel are forked from a zygote that has the
frameworks imported already (:mod:`zygote`: the same keeper, the same :func:`confine`, then
ipykernel in the forked process). When the zygote cannot serve the request, the launcher
goes on as without it: it forks the keeper, whose child confines itself and ``exec``s the kernel.

Only the standard library is used (this runs before the kernel starts).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reaper  # noqa: E402 (sibling modules)
from confine import confine, copy_matplotlib_cache, kernel_environment, make_keeper  # noqa: E402

SYSTEM_READ = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys", "/opt")
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
    p.add_argument("--folder-mb", type=int, default=0, help="size of the kernel's folder (MiB; 0: no limit)")
    p.add_argument("--max-tasks", type=int, default=0,
                   help="processes and threads of the kernel, enforced by the keeper (where no cgroup does)")
    p.add_argument("--cgroup", action="append", default=[], help="a folder of the kernel's cgroup (joined)")
    p.add_argument("--state", help="the launcher's folder outside the kernel's reach (default: the workdir)")
    p.add_argument("--no-landlock", action="store_true", help="limits only (debugging)")
    p.add_argument("--zygote", help="unix socket of a zygote to fork the kernel from")
    return p.parse_args(argv[:split]), argv[split + 1 :]


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


def _read_paths(extra: list[str]) -> list[str]:
    """Python's own folders, the system's, ``extra``, and the other folders on ``sys.path``
    except those inside :data:`CHECKOUT`."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, *SYSTEM_READ, *extra}
    for entry in sys.path[1:]:
        if entry and Path(entry).exists() and not Path(entry).resolve().is_relative_to(CHECKOUT):
            paths.add(entry)
    return sorted(p for p in paths if p)


def main(argv: list[str] | None = None) -> None:
    """Prepare the kernel's folder, then have a zygote fork the kernel, or fork its keeper here
    (the keeper's child confines itself and execs the kernel); wait for the kernel's exit."""
    args, cmd = _parse(sys.argv[1:] if argv is None else argv)
    forwarder = reaper.Forwarder()  # signals that come before the kernel's pid wait for it
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)
    ports = _move_connection_file(cmd, workdir)
    cmd[0] = shutil.which(cmd[0]) or cmd[0]
    for item in args.copy:
        if Path(item).is_file():
            shutil.copy(item, workdir / Path(item).name)
    copy_matplotlib_cache(workdir)
    env = kernel_environment(workdir, args.env)
    reads = _read_paths(args.read)
    state = Path(args.state).resolve() if args.state else workdir
    limits = {"memory_mb": args.memory_mb, "cpu_seconds": args.cpu_seconds, "file_mb": args.file_mb,
              "open_files": args.open_files, "folder_mb": args.folder_mb, "max_tasks": args.max_tasks}  # fmt: skip
    if args.zygote:
        import zygote  # sibling module

        request = {"argv": cmd, "env": env, "workdir": str(workdir), "reads": reads, "ports": ports,
                   "limits": limits, "landlock": not args.no_landlock, "groups": args.cgroup,
                   "state": str(state)}  # fmt: skip
        code = zygote.handoff(args.zygote, request, forwarder, state)
        if code is not None:
            sys.exit(code)

    def start_kernel() -> None:
        confine(workdir, limits, reads, ports, env, use_landlock=not args.no_landlock, groups=args.cgroup)
        os.execve(cmd[0], cmd, env)

    ours, keepers = socket.socketpair()
    if os.fork() == 0:
        ours.close()
        make_keeper(workdir, state, limits, args.cgroup).run(keepers, start_kernel)
    keepers.close()
    code = reaper.follow(ours, forwarder, state)
    sys.exit(1 if code is None else code)


if __name__ == "__main__":
    main()
