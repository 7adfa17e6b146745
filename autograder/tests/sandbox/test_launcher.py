"""The kernel launcher on its own: arguments, environment, readable paths, limits, Landlock,
and the end of every process the kernel starts.

The launcher's keeper's child confines itself and execs the command after ``--``; here that
command is a short Python script instead of a kernel, so each run takes a fraction of a second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.sandbox import landlock, launcher

LIMITS = ["--memory-mb", "512", "--cpu-seconds", "20", "--file-mb", "1"]
REPORT = """
import json, os, resource, sys
def attempt(action):
    try:
        action()
        return "ok"
    except BaseException as e:
        return type(e).__name__
print(json.dumps(dict(
    cwd=os.getcwd(), env=dict(os.environ), argv=sys.argv[1:],
    data=resource.getrlimit(resource.RLIMIT_DATA), cpu=resource.getrlimit(resource.RLIMIT_CPU),
    fsize=resource.getrlimit(resource.RLIMIT_FSIZE), core=resource.getrlimit(resource.RLIMIT_CORE),
    big_file=attempt(lambda: open("big", "wb").write(b"x" * 2 * 1024 * 1024)),
    memory=attempt(lambda: bytearray(1024 ** 3)),
    read_outside=attempt(lambda: open(sys.argv[-1]).read()),
    write_home=attempt(lambda: open(os.path.expanduser("~/f"), "w").write("x")),
)))
"""


def launch(tmp_path: Path, *options: str, env: dict[str, str] | None = None) -> dict:
    """Run the launcher on :data:`REPORT`; return what the script saw."""
    connection = tmp_path / "kernel-1.json"
    connection.write_text(json.dumps({"shell_port": 5001, "iopub_port": 5002, "key": "k"}))
    outside = tmp_path / "outside.txt"
    outside.write_text("private")
    workdir = tmp_path / "work"
    cmd = [sys.executable, str(Path(launcher.__file__)), "--workdir", str(workdir), *LIMITS, *options,
           "--", sys.executable, "-c", REPORT, "-f", str(connection), str(outside)]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    log = (workdir / "kernel.log").read_text()  # the kernel's own stdout/stderr go there
    return json.loads(log.strip().splitlines()[-1])


def test_limits_workdir_and_connection_file(tmp_path: Path) -> None:
    seen = launch(tmp_path, "--no-landlock")
    work = str((tmp_path / "work").resolve())
    assert seen["cwd"] == work and seen["env"]["HOME"] == work and seen["env"]["TMPDIR"] == work
    assert seen["data"][0] == 512 * 1024 * 1024 and seen["memory"] == "MemoryError"
    assert seen["cpu"] == [20, 25] and seen["core"] == [0, 0]
    assert seen["fsize"][0] == 1024 * 1024 and seen["big_file"] != "ok"
    connection = seen["argv"][seen["argv"].index("-f") + 1]  # moved into the workdir
    assert connection == str(Path(work) / ".runtime" / "kernel-1.json")
    assert seen["write_home"] == "ok" and seen["env"]["VAECOURSE_SANDBOX"] == "limits-only"


def test_environment_is_an_allow_list_plus_the_given_variables(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8", "API_TOKEN": "secret",
           "VAECOURSE_COURSE_DIR": "/grading", "VAECOURSE_DATA": "/data"}  # fmt: skip
    seen = launch(tmp_path, "--no-landlock", "--env", "VAECOURSE_PROFILE=ci", "--env", "X=a=b", env=env)["env"]
    assert seen["PATH"] == env["PATH"] and seen["LC_ALL"] == "C.UTF-8"
    assert seen["VAECOURSE_PROFILE"] == "ci" and seen["X"] == "a=b"
    for hidden in ("API_TOKEN", "VAECOURSE_COURSE_DIR", "VAECOURSE_DATA"):  # only what the caller passes
        assert hidden not in seen


def test_landlock_keeps_the_kernel_in_its_folder(tmp_path: Path) -> None:
    if landlock.abi_version() < 1:
        pytest.skip("no Landlock on this kernel")
    seen = launch(tmp_path)
    assert seen["read_outside"] == "PermissionError" and seen["write_home"] == "ok"
    assert seen["env"]["VAECOURSE_SANDBOX"] == f"landlock-abi-{landlock.abi_version()}"
    readable = launch(tmp_path, "--read", str(tmp_path / "outside.txt"))
    assert readable["read_outside"] == "ok"


def test_required_arguments() -> None:
    with pytest.raises(SystemExit):
        launcher._parse(["--workdir", "w", "python"])  # no "--"
    with pytest.raises(SystemExit):
        launcher._parse(["--workdir", "w", "--", "python"])  # no limits given
    args, cmd = launcher._parse(["--workdir", "w", *LIMITS, "--read", "/a", "--read", "/b", "--", "python", "-f", "c"])
    assert args.memory_mb == 512 and args.read == ["/a", "/b"] and cmd == ["python", "-f", "c"]


def test_no_connection_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="CONNECTION_FILE"):
        launcher._move_connection_file(["python", "-m", "ipykernel_launcher"], tmp_path)


def test_readable_paths_never_include_the_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    inside = launcher.CHECKOUT / "helpers" / "src"
    monkeypatch.setattr(sys, "path", ["script-dir", str(launcher.CHECKOUT), str(inside), str(tmp_path)])
    paths = launcher._read_paths(["/srv/data"])
    assert str(tmp_path) in paths and "/srv/data" in paths and sys.prefix in paths
    assert not [p for p in paths if Path(p).resolve().is_relative_to(launcher.CHECKOUT)]
    assert (launcher.CHECKOUT / "autograder" / "sandbox" / "launcher.py").is_file()


STORM = """
import os, sys, time
def start(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19])
for _ in range(10):
    if os.fork() == 0:
        os.setsid()
        time.sleep(120)
        os._exit(0)
kids = [(p, start(p)) for p in (int(e) for e in os.listdir("/proc") if e.isdigit()) if os.path.exists(f"/proc/{p}/stat")
        and int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1]) == os.getpid()]
print("STORM", kids, flush=True)
if sys.argv[-1] == "stay":
    time.sleep(120)
"""


def _storm_launcher(tmp_path: Path, how: str) -> tuple[subprocess.Popen, Path]:
    connection = tmp_path / "kernel-1.json"
    connection.write_text(json.dumps({"shell_port": 5001, "key": "k"}))
    workdir, state = tmp_path / "home", tmp_path / "state"
    state.mkdir()
    cmd = [sys.executable, str(Path(launcher.__file__)), "--workdir", str(workdir), "--state", str(state), *LIMITS,
           "--", sys.executable, "-c", STORM, "-f", str(connection), how]  # fmt: skip
    return subprocess.Popen(cmd, start_new_session=True), workdir  # as jupyter_client starts a kernel


def _storm_pids(workdir: Path) -> list[tuple[int, int]]:
    for _ in range(600):
        log = (workdir / "kernel.log").read_text() if (workdir / "kernel.log").exists() else ""
        if "STORM" in log:
            return [tuple(p) for p in eval(log.split("STORM", 1)[1].splitlines()[0])]  # noqa: S307 (our own output)
        time.sleep(0.05)
    raise AssertionError("the kernel did not start its children")


def _gone(procs: list[tuple[int, int]], seconds: float = 15.0) -> bool:
    from autograder.sandbox import reaper

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not any((p := reaper.read_proc(pid)) and p.start == start and p.state not in "ZX" for pid, start in procs):
            return True
        time.sleep(0.05)
    return False


def test_killing_the_launchers_process_group_ends_the_kernels_children(tmp_path: Path) -> None:
    """jupyter_client kills a kernel with SIGKILL to the launcher's process group: the children
    the kernel started in sessions of their own go too (the keeper sweeps them)."""
    proc, workdir = _storm_launcher(tmp_path, "stay")
    storm = _storm_pids(workdir)
    assert len(storm) == 10
    kernel = int((tmp_path / "state" / "kernel.pid").read_text())
    assert kernel != proc.pid  # the kernel runs below its keeper, not as the launcher
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _gone(storm)


def test_the_kernels_children_end_with_it(tmp_path: Path) -> None:
    proc, workdir = _storm_launcher(tmp_path, "exit")
    storm = _storm_pids(workdir)
    assert proc.wait(timeout=60) == 0  # the kernel's own exit code
    assert _gone(storm, 0.5)  # swept before the launcher was told the kernel exited
    report = json.loads((tmp_path / "state" / "keeper.json").read_text())
    assert report["killed"] == 10 and report["exit"] == 0


def test_the_kernel_ends_when_the_kernel_managers_process_dies(tmp_path: Path) -> None:
    """A grading worker killed with SIGKILL cannot shut its kernel down: the launcher notices
    its new parent within a second and exits, and the keeper sweeps."""
    connection = tmp_path / "kernel-1.json"
    connection.write_text(json.dumps({"shell_port": 5001, "key": "k"}))
    workdir, state = tmp_path / "home", tmp_path / "state"
    state.mkdir()
    cmd = [sys.executable, str(Path(launcher.__file__)), "--workdir", str(workdir), "--state", str(state), *LIMITS,
           "--", sys.executable, "-c", STORM, "-f", str(connection), "stay"]  # fmt: skip
    worker = subprocess.Popen([sys.executable, "-c", f"import subprocess, time; subprocess.Popen({cmd!r}); time.sleep(120)"])
    try:
        storm = _storm_pids(workdir)
        worker.kill()
        worker.wait()
        assert _gone(storm)
    finally:
        worker.kill()
