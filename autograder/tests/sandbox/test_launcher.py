"""The kernel launcher on its own: arguments, environment, readable paths, limits, Landlock.

The launcher replaces itself with the command after ``--``; here that command is a short
Python script instead of a kernel, so each run takes a fraction of a second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
