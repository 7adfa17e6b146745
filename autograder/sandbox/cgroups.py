"""Per-kernel control groups: a bound on processes and threads, a CPU share, a clean kill.

Where this process may create control groups (root on a cgroup v1 or hybrid machine, as
here and in CI; a delegated cgroup v2 subtree), each grading kernel gets one group of its own
in every useful hierarchy, created by the kernel manager before the kernel starts and joined
by the kernel before its first line of code (:func:`join`, from :func:`confine.confine`):

* **pids** (v1 ``pids`` controller, or ``pids`` enabled for children in v2): ``pids.max``
  bounds the kernel's processes *and threads* together (a fork or thread storm fails with
  ``EAGAIN``); ``pids.peak`` and ``pids.events`` say how close it came;
* **cpu** (v1 ``cpu``: ``cpu.cfs_quota_us``; v2 ``cpu.max``): the kernel's processes together
  get at most ``cpus`` cores of CPU time, the worker's share of the machine;
* **the v2 hierarchy** (also the hybrid mode's ``/sys/fs/cgroup/unified``, no controllers
  needed): ``cgroup.kill`` kills every process in the group at once, and ``cpu.stat`` counts
  their CPU time.

Groups are named ``vaecourse-<owner>-<random>``, ``<owner>`` being ``<pid>.<start time>`` of the
grading run's process (``VAECOURSE_CGROUP_OWNER``, set by the grader for its workers) or of
the process that created it. Only groups with that prefix are ever touched: each is removed by
the kernel manager when its kernel ends (:meth:`KernelGroup.remove`), by the run at its end
(:func:`sweep` of its owner), and by any later run once its owner is dead (:func:`sweep`), so
groups of a run killed with ``SIGKILL`` do not pile up. A kernel cannot leave its groups while
Landlock keeps ``/sys`` read-only for it.

Only the standard library is used (the kernel joins its groups before it starts).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reaper  # noqa: E402 (stand-alone script: sibling module)

PREFIX = "vaecourse-"
#: the grading run that owns the groups its workers' kernel managers create
OWNER_ENV = "VAECOURSE_CGROUP_OWNER"
PERIOD_US = 100_000
#: controllers a group is made for (v1 hierarchies without either are left alone)
USEFUL = frozenset({"pids", "cpu"})


@dataclass(frozen=True)
class Hierarchy:
    """A cgroup hierarchy this process is in: its version, the controllers a new group of
    ours gets there, and the folder of this process's own group (new groups go below it)."""

    version: int
    controllers: frozenset[str]
    base: Path

    @property
    def key(self) -> str:
        return "v2" if self.version == 2 else ",".join(sorted(self.controllers))


def _own_paths() -> dict[str, str]:
    """``{controllers or '' for v2: path}`` from ``/proc/self/cgroup``."""
    paths = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            paths[controllers] = path
    return paths


@functools.lru_cache(maxsize=1)
def hierarchies() -> tuple[Hierarchy, ...]:
    """The hierarchies (mounted, and useful: a v1 ``pids``/``cpu`` one, or v2) this process is in."""
    own = _own_paths()
    found: list[Hierarchy] = []
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return ()
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        root, mount = fields[3], fields[4]
        if tail[0] == "cgroup":
            controllers = frozenset(tail[2].split(",")) & USEFUL
            path = next((p for names, p in own.items() if names and USEFUL & set(names.split(",")) == controllers
                         and controllers), None)  # fmt: skip
            version = 1
        else:
            path, version, controllers = own.get(""), 2, frozenset()
        if path is None or not (path == root or path.startswith(root.rstrip("/") + "/") or root == "/"):
            continue
        base = Path(mount) / os.path.relpath(path, root)
        if version == 2:
            with contextlib.suppress(OSError):
                controllers = frozenset((base / "cgroup.subtree_control").read_text().split()) & USEFUL
        if version == 2 or controllers:
            found.append(Hierarchy(version, controllers, base.resolve()))
    return tuple({h.key: h for h in found}.values())


def owner_tag(pid: int | None = None) -> str:
    """``<pid>.<start time>``: names a process for good (pids are reused, start times not)."""
    pid = os.getpid() if pid is None else pid
    proc = reaper.read_proc(pid)
    return f"{pid}.{proc.start if proc else 0}"


def current_owner() -> str:
    """The owner of the groups this process creates: the grading run's, or its own."""
    return os.environ.get(OWNER_ENV) or owner_tag()


def _owner_alive(owner: str) -> bool:
    pid, _, start = owner.partition(".")
    if not pid.isdigit():
        return True  # not a name of ours: never touched
    proc = reaper.read_proc(int(pid))
    return proc is not None and str(proc.start) == start


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


class KernelGroup:
    """One kernel's groups: a folder of the same name in each hierarchy."""

    def __init__(self, name: str, dirs: dict[str, Path]) -> None:
        self.name = name
        self.dirs = dirs  # Hierarchy.key -> folder
        self.created = time.monotonic()
        self.tasks_max = 0
        self.cpus = 0.0

    @classmethod
    def create(cls, max_tasks: int = 0, cpus: float = 0.0, owner: str | None = None) -> KernelGroup | None:
        """A new group in every hierarchy where this process may make one, with ``pids.max``
        = ``max_tasks`` and a CPU quota of ``cpus`` cores (0: none); None where none can be made.
        The first call in a process also removes the groups of dead owners (:func:`sweep`)."""
        _sweep_stale_once()
        name = f"{PREFIX}{owner or current_owner()}-{secrets.token_hex(4)}"
        dirs: dict[str, Path] = {}
        for h in hierarchies():
            try:
                (h.base / name).mkdir()
            except OSError:
                continue
            dirs[h.key] = h.base / name
        if not dirs:
            return None
        group = cls(name, dirs)
        group._limit(max_tasks, cpus)
        return group

    @classmethod
    def attach(cls, paths: list[str]) -> KernelGroup:
        """The group whose folders are ``paths`` (the keeper's view of its kernel's group)."""
        dirs = {}
        for path in map(Path, paths):
            h = next((h for h in hierarchies() if path.parent == h.base), None)
            if h is not None:
                dirs[h.key] = path
        return cls(Path(paths[0]).name if paths else "", dirs)

    def _limit(self, max_tasks: int, cpus: float) -> None:
        quota = int(cpus * PERIOD_US)
        for h in hierarchies():
            folder = self.dirs.get(h.key)
            if folder is None:
                continue
            if max_tasks > 0 and "pids" in h.controllers and _write(folder / "pids.max", str(max_tasks)):
                self.tasks_max = max_tasks
            if quota > 0 and "cpu" in h.controllers:
                ok = (_write(folder / "cpu.max", f"{quota} {PERIOD_US}") if h.version == 2 else
                      _write(folder / "cpu.cfs_period_us", str(PERIOD_US)) and
                      _write(folder / "cpu.cfs_quota_us", str(quota)))  # fmt: skip
                if ok:
                    self.cpus = cpus

    @property
    def paths(self) -> list[str]:
        """The group's folders (a kernel joins each)."""
        return [str(d) for d in self.dirs.values()]

    @property
    def bounds_tasks(self) -> bool:
        return self.tasks_max > 0

    def procs(self) -> list[int]:
        """The processes in the group now."""
        for folder in self.dirs.values():
            with contextlib.suppress(OSError, ValueError):
                return [int(line) for line in (folder / "cgroup.procs").read_text().split()]
        return []

    def _member(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                return any(line.rstrip("\n").endswith("/" + self.name) for line in f)
        except OSError:
            return False

    def kill(self, timeout: float = 10.0) -> int:
        """Kill every process in the group (``cgroup.kill`` where there is one, else SIGSTOP
        then SIGKILL until none is left); how many there were."""
        seen = set(self.procs())
        v2 = self.dirs.get("v2")
        if seen and v2 is not None and _write(v2 / "cgroup.kill", "1"):
            end = time.monotonic() + timeout
            while self.procs() and time.monotonic() < end:
                time.sleep(0.005)
        if self.procs():
            find = lambda: [p for p in map(reaper.read_proc, self.procs()) if p is not None]  # noqa: E731
            seen |= {pid for pid, _ in reaper.stop_and_kill(find, timeout, belongs=self._member)}
        return len(seen)

    def stats(self) -> dict[str, float | int | str]:
        """What the group saw: its name, the task bound and peak, forks refused at the bound,
        the CPU quota, the CPU seconds used and times throttled, seconds alive."""
        out: dict[str, float | int | str] = {"cgroup": self.name, "tasks_max": self.tasks_max,
                                              "cpus": self.cpus, "seconds": round(time.monotonic() - self.created, 3)}  # fmt: skip
        for folder in self.dirs.values():
            with contextlib.suppress(OSError, ValueError):
                out["tasks_peak"] = int((folder / "pids.peak").read_text())
            with contextlib.suppress(OSError, ValueError):
                events = dict(line.split() for line in (folder / "pids.events").read_text().splitlines())
                out["tasks_refused"] = int(events.get("max", 0))
            with contextlib.suppress(OSError, ValueError):
                stat = dict(line.split() for line in (folder / "cpu.stat").read_text().splitlines())
                if "usage_usec" in stat:
                    out["cpu_seconds"] = round(int(stat["usage_usec"]) / 1e6, 3)
                if "nr_throttled" in stat:
                    out["throttled"] = int(stat["nr_throttled"])
        return out

    def remove(self, timeout: float = 10.0) -> int:
        """Kill what is left in the group and remove its folders; how many processes were killed."""
        killed = self.kill(timeout)
        end = time.monotonic() + timeout
        for folder in self.dirs.values():
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY while the last ones exit
                    if time.monotonic() > end:
                        break
                    time.sleep(0.01)
        return killed

    def exists(self) -> bool:
        return any(d.exists() for d in self.dirs.values())


def join(paths: list[str]) -> None:
    """Move this process into the groups ``paths`` (its children follow). Raises OSError."""
    for path in paths:
        (Path(path) / "cgroup.procs").write_text(str(os.getpid()))


def groups(owner: str | None = None) -> list[KernelGroup]:
    """Our groups now: all, or those of ``owner``."""
    names: dict[str, dict[str, Path]] = {}
    for h in hierarchies():
        with contextlib.suppress(OSError):
            for entry in os.scandir(h.base):
                if entry.name.startswith(PREFIX) and entry.is_dir(follow_symlinks=False):
                    names.setdefault(entry.name, {})[h.key] = Path(entry.path)
    found = [KernelGroup(name, dirs) for name, dirs in sorted(names.items())]
    return [g for g in found if owner is None or _owner(g.name) == owner]


def _owner(name: str) -> str:
    return name[len(PREFIX):].rsplit("-", 1)[0]


def sweep(owner: str | None = None) -> int:
    """Remove the groups of ``owner`` and of every owner no longer alive (their processes
    killed); groups of other live runs are left alone. Returns how many were removed."""
    removed = 0
    for group in groups():
        mine = _owner(group.name)
        if mine == owner or not _owner_alive(mine):
            group.remove()
            removed += 1
    return removed


@functools.lru_cache(maxsize=1)
def _sweep_stale_once() -> int:
    return sweep()
