"""Every process a grading kernel starts ends with it: a keeper that sweeps its descendants.

A kernel's code may start processes that try to outlive it: children that call ``setsid``
(a new session and process group, out of reach of ``killpg``), a double fork (the child exits,
its own child is re-parented), children that ignore ``SIGTERM``, fork storms. Each kernel
therefore runs below a *keeper*, a small process that is the kernel's parent and a
*child subreaper* (``PR_SET_CHILD_SUBREAPER``): every orphan of the kernel's process tree is
re-parented to the keeper, never to init, so "the keeper's descendants" are exactly the
processes of that kernel, whatever they do to their session, group or parent. When the kernel
exits, when its launcher goes away (jupyter_client kills a kernel by killing the launcher's
process group with ``SIGKILL``; the keeper has its own session and sees its end of the
launcher's socket close) or when the keeper gets ``SIGTERM`` (the zygote stops, see
:mod:`zygote`), the keeper *sweeps*: it stops every descendant with ``SIGSTOP`` (a stopped
process cannot fork; ``SIGSTOP`` cannot be caught or ignored) until a look at ``/proc`` finds
none running, kills them all with ``SIGKILL``, reaps them, and repeats until none is left.
Signals go through pid file descriptors after checking the process's start time, so a pid
that was reused meanwhile is never signalled.

The keeper also enforces, while the kernel runs, the size of the kernel's folder (files,
entries) and, where no pids cgroup bounds the kernel (:mod:`cgroups`), its number of
processes and threads (a look every half second). Over a limit, it sweeps the kernel's whole tree
(the kernel included) and says why in the kernel's log, which the grader shows in the cell.

The launcher's side is :func:`follow` (signals passed on to the kernel, its pid recorded, the
exit code returned); the keeper's is :func:`keep`. Both run before any student code, from the
launcher (:mod:`launcher`) or a zygote (:mod:`zygote`). Only the standard library is used.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
#: signals the launcher passes on to the kernel
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
#: seconds between the keeper's looks at the kernel's folder (and, without a pids cgroup, its tasks)
TICK = 0.5
#: entries the kernel's folder may hold (beyond that the keeper stops counting: over the limit)
MAX_ENTRIES = 50_000
MB = 1024 * 1024
LOCK = "keeper.lock"
REPORT = "keeper.json"
PID_FILE = "kernel.pid"

_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> bool:
    try:
        return _libc.prctl(option, value, 0, 0, 0) == 0
    except (AttributeError, OSError):
        return False


def become_subreaper() -> bool:
    """Make this process the child subreaper of its descendants (their orphans come here)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def parent_death_signal(sig: int) -> bool:
    """Ask for ``sig`` when the thread that forked this process ends."""
    return _prctl(PR_SET_PDEATHSIG, int(sig))


# ---- processes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Proc:
    """One line of ``/proc/<pid>/stat``, the fields a sweep needs."""

    pid: int
    ppid: int
    state: str
    threads: int
    start: int  # clock ticks after boot: with the pid, names the process for good


def read_proc(pid: int) -> Proc | None:
    """``/proc/<pid>/stat`` of ``pid``, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return Proc(pid, int(fields[1]), fields[0].decode(), int(fields[17]), int(fields[19]))
    except (OSError, IndexError, ValueError):
        return None


def processes() -> dict[int, Proc]:
    """Every process of the machine (that ``/proc`` shows), by pid."""
    table = {}
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc (not Linux): nothing can be swept
        return table
    for entry in entries:
        if entry.isdigit() and (p := read_proc(int(entry))) is not None:
            table[p.pid] = p
    return table


def descendants(root: int, exclude: Iterable[int] = (), table: dict[int, Proc] | None = None) -> list[Proc]:
    """The processes below ``root`` (not ``root`` itself), leaving out the subtrees of
    ``exclude``; from ``table`` (default: a fresh look at ``/proc``)."""
    table = processes() if table is None else table
    children: dict[int, list[Proc]] = {}
    for p in table.values():
        children.setdefault(p.ppid, []).append(p)
    skip, found, todo = set(exclude), [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child.pid not in skip and child.pid != root:
                found.append(child)
                todo.append(child.pid)
    return found


def send(p: Proc, sig: int, belongs: Callable[[int], bool] | None = None) -> bool:
    """Signal the process ``p`` names, if it is still that process (its start time; and
    ``belongs(pid)`` when given); through a pid file descriptor, so that a pid reused after
    the check is never signalled. False when it is gone or may not be signalled."""
    fd = None
    try:
        with contextlib.suppress(AttributeError, OSError):
            fd = os.pidfd_open(p.pid)
        now = read_proc(p.pid)
        if now is None or now.start != p.start or (belongs is not None and not belongs(p.pid)):
            return False
        if fd is not None:
            signal.pidfd_send_signal(fd, sig)
        else:  # kernels before 5.3: the start time was checked just now
            os.kill(p.pid, sig)
        return True
    except OSError:  # ProcessLookupError, PermissionError
        return False
    finally:
        if fd is not None:
            os.close(fd)


def reap() -> dict[int, int]:
    """Collect every finished child of this process: ``{pid: exit code}`` (-N: signal N)."""
    done = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        except InterruptedError:
            continue
        if pid == 0:
            return done
        done[pid] = os.waitstatus_to_exitcode(status)


def stop_and_kill(find: Callable[[], list[Proc]], timeout: float = 10.0,
                  belongs: Callable[[int], bool] | None = None,
                  on_round: Callable[[], object] | None = None) -> set[tuple[int, int]]:  # fmt: skip
    """Kill every process ``find()`` lists, also those they start meanwhile.

    Each round stops them with ``SIGSTOP`` until a look finds none still running (stopped
    processes cannot fork, and ``SIGSTOP`` cannot be caught), then kills them all with
    ``SIGKILL``; rounds repeat until ``find()`` lists none alive, at most ``timeout`` seconds.
    ``on_round`` runs after each round (the caller reaps its children there). Returns the
    killed processes as ``(pid, start time)``.
    """
    killed: set[tuple[int, int]] = set()
    end = time.monotonic() + timeout
    while True:
        alive = [p for p in find() if p.state not in "ZX"]
        if not alive or time.monotonic() > end:
            return killed
        for _ in range(200):  # freeze: until every one of them is stopped (or dying)
            running = [p for p in alive if p.state not in "tTD" and (p.pid, p.start) not in killed]
            if not running:
                break
            for p in running:
                send(p, signal.SIGSTOP, belongs)
            time.sleep(0.001)
            alive = [p for p in find() if p.state not in "ZX"]
        for p in alive:
            if send(p, signal.SIGKILL, belongs):
                killed.add((p.pid, p.start))
        if on_round is not None:
            on_round()
        time.sleep(0.002)


def sweep(exclude: Iterable[int] = (), timeout: float = 10.0) -> set[tuple[int, int]]:
    """Kill every descendant of this process (except the subtrees of ``exclude``) and reap
    this process's children (all of them, waiting for the last, when nothing is excluded: their
    CPU time then counts as this process's children's); see :func:`stop_and_kill`."""
    me, skip = os.getpid(), set(exclude)
    killed = stop_and_kill(lambda: descendants(me, skip), timeout, on_round=reap)
    end = time.monotonic() + (0 if skip else timeout)
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                if time.monotonic() > end:
                    break
                time.sleep(0.002)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
    return killed


# ---- the kernel's folder ----------------------------------------------------------------------
def folder_usage(path: Path, max_entries: int = MAX_ENTRIES) -> tuple[int, int]:
    """(bytes on disk, entries) below ``path``, symlinks not followed; counting stops after
    ``max_entries`` entries."""
    size, entries, todo = 0, 0, [str(path)]
    while todo and entries <= max_entries:
        try:
            with os.scandir(todo.pop()) as it:
                for entry in it:
                    entries += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    size += st.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
        except OSError:
            continue
    return size, entries


def folder_verdict(path: Path, folder_mb: int) -> str:
    """Why the kernel's folder is over its limits, or ''."""
    if folder_mb <= 0:
        return ""
    size, entries = folder_usage(path)
    if size > folder_mb * MB:
        return f"the kernel's folder grew past its limit of {folder_mb} MB"
    if entries > MAX_ENTRIES:
        return f"the kernel's folder holds more than {MAX_ENTRIES} files and folders"
    return ""


# ---- the launcher's side ------------------------------------------------------------------------
class Forwarder:
    """The launcher's handlers for :data:`FORWARDED`: each signal goes to the kernel, held back
    until its pid is known. Install before asking for a kernel."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.pending: list[int] = []
        for sig in FORWARDED:
            signal.signal(sig, self._forward)

    def _forward(self, signum: int, _frame: object) -> None:
        if self.pid is None:
            self.pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signum)

    def started(self, pid: int) -> None:
        """The kernel runs as ``pid``: pass on what came before."""
        self.pid = pid
        for signum in self.pending:
            self._forward(signum, None)
        self.pending.clear()


def _read_message(conn: socket.socket, buffer: bytearray) -> dict | None:
    """The next JSON line from ``conn`` (None at its end); raises TimeoutError."""
    while b"\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
        if len(buffer) > 1 << 20:
            return None
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def follow(conn: socket.socket, forwarder: Forwarder, state: Path, wait: float = 120.0) -> int | None:
    """Launcher: wait for the keeper at the other end of ``conn`` to start the kernel, record its
    pid (``state/kernel.pid``), pass signals on, return the kernel's exit code.

    Returns None, having started nothing, when the first message carries no pid (a refusal).
    The launcher is a subreaper too: should the keeper die, the kernel's orphans come here and
    are swept before the launcher exits; so is everything when the launcher's own parent (the
    kernel manager's process) goes away."""
    become_subreaper()
    parent = os.getppid()
    buffer = bytearray()
    try:
        conn.settimeout(wait)
        first = _read_message(conn, buffer)
    except OSError:
        return None
    if not first or "pid" not in first:
        return None
    pid = int(first["pid"])
    with contextlib.suppress(OSError):
        (state / PID_FILE).write_text(str(pid))
    forwarder.started(pid)
    conn.settimeout(1.0)
    code = 1
    while True:
        try:
            message = _read_message(conn, buffer)
        except TimeoutError:
            if os.getppid() != parent:  # the kernel manager is gone: so is the kernel
                break
            continue
        except OSError:
            break
        if message is None:
            break
        if "exit" in message:
            code = int(message["exit"])
            break
    conn.close()  # a keeper still running sees the end and sweeps
    sweep()
    return code


# ---- the keeper's side ----------------------------------------------------------------------------
@dataclass
class Keeper:
    """What the keeper of one kernel watches: its folder, its limits, its cgroups."""

    workdir: Path
    state: Path | None = None
    folder_mb: int = 0
    max_tasks: int = 0  # watched here only where no pids cgroup bounds the kernel (0: not watched)
    kill_group: Callable[[], int] | None = None  # the kernel's cgroups' clean kill, if any

    def run(self, conn: socket.socket, start_kernel: Callable[[], None]) -> None:
        """In a freshly forked process: become the keeper, fork the kernel (which runs
        ``start_kernel``: confine itself, then ``exec`` or run ipykernel), watch it, sweep,
        report to the launcher over ``conn``; then ``os._exit``."""
        code, killed, reason = 1, 0, ""
        try:
            code, killed, reason = self._run(conn, start_kernel)
        except BaseException as e:  # noqa: BLE001 (the keeper never returns into its caller's code)
            reason = f"keeper failed: {e!r}"
            with contextlib.suppress(BaseException):
                killed = len(sweep())
        finally:
            report = {"exit": code, "killed": killed, "reason": reason}
            if self.state is not None:
                with contextlib.suppress(OSError):
                    (self.state / REPORT).write_text(json.dumps(report))
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(report).encode() + b"\n")
            os._exit(0)

    def _run(self, conn: socket.socket, start_kernel: Callable[[], None]) -> tuple[int, int, str]:
        os.setsid()  # out of the launcher's process group (jupyter_client kills that group)
        become_subreaper()
        lock = self._lock()
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        stop: list[str] = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append("the grader stopped the kernel"))
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        conn.setblocking(True)
        keeper = os.getpid()
        kernel = os.fork()
        if kernel == 0:
            self._kernel_child(conn, lock, (wake_r, wake_w), keeper, start_kernel)
        conn.sendall(json.dumps({"pid": kernel}).encode() + b"\n")
        selector = selectors.DefaultSelector()
        selector.register(conn, selectors.EVENT_READ, "launcher")
        selector.register(wake_r, selectors.EVENT_READ, "signal")
        code: int | None = None
        reason, next_look = "", time.monotonic() + TICK
        while code is None and not reason and not stop:
            for key, _ in selector.select(timeout=TICK):
                if key.data == "signal":
                    with contextlib.suppress(OSError):
                        os.read(wake_r, 4096)
                elif not _still_open(conn):
                    stop.append("the launcher is gone")
            code = reap().get(kernel, code)
            if code is None and time.monotonic() >= next_look:
                reason = self._over_limits(kernel)
                next_look = time.monotonic() + TICK
        alive = code is None
        killed = self.kill_group() if self.kill_group is not None else 0
        swept = sweep()
        killed = max(killed, len(swept)) - (1 if alive else 0)
        if reason:
            self._tell_kernel_log(reason)
        if code is None:
            code = -signal.SIGKILL
        return code, max(killed, 0), reason

    def _lock(self) -> int | None:
        """Hold ``state/keeper.lock`` until this process ends: the kernel manager waits for it
        before it removes the kernel's folder and cgroups (the sweep is over by then)."""
        if self.state is None:
            return None
        with contextlib.suppress(OSError):
            fd = os.open(self.state / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            return fd
        return None

    def _kernel_child(self, conn: socket.socket, lock: int | None, pipe: tuple[int, int], keeper: int,
                      start_kernel: Callable[[], None]) -> None:  # fmt: skip
        code = 1
        try:
            parent_death_signal(signal.SIGKILL)  # the kernel never outlives its keeper
            if os.getppid() != keeper:
                os._exit(1)
            os.setsid()
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGCHLD, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            conn.close()
            for fd in (lock, *pipe):
                if fd is not None:
                    os.close(fd)
            start_kernel()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 0
        except BaseException:  # noqa: BLE001 (into the kernel's log; never back into the keeper's code)
            import traceback

            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _over_limits(self, kernel: int) -> str:
        reason = folder_verdict(self.workdir, self.folder_mb)
        if not reason and self.max_tasks > 0:
            table = processes()
            tasks = sum(p.threads for p in descendants(os.getpid(), table=table) if p.state not in "ZX")
            if tasks > self.max_tasks:
                reason = f"the kernel started more than {self.max_tasks} processes and threads"
        return reason

    def _tell_kernel_log(self, reason: str) -> None:
        with contextlib.suppress(OSError), open(self.workdir / "kernel.log", "a") as log:
            log.write(f"\n[grader] {reason}: the kernel and every process it started were stopped\n")


def _still_open(conn: socket.socket) -> bool:
    """False once the launcher's end of ``conn`` is closed (anything it sent is dropped)."""
    try:
        return bool(conn.recv(4096, socket.MSG_DONTWAIT))
    except BlockingIOError:
        return True
    except OSError as e:
        return e.errno in (errno.EAGAIN, errno.EINTR)
