"""Landlock on its own: a restricted process keeps what it was given and loses the rest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.sandbox import landlock

SCRIPT = """
import json, os, socket, sys
sys.path.insert(0, {here!r})
import landlock
abi = landlock.restrict([{readable!r}, *sys.path[1:], sys.prefix, sys.base_prefix, "/usr", "/lib", "/lib64", "/etc"],
                        [{writable!r}])
def attempt(action):
    try:
        action()
        return "ok"
    except BaseException as e:
        return type(e).__name__
print(json.dumps(dict(
    abi=abi,
    read_given=attempt(lambda: open({readable!r} + "/a.txt").read()),
    write_given_read_only=attempt(lambda: open({readable!r} + "/b.txt", "w").write("x")),
    write_own=attempt(lambda: open({writable!r} + "/c.txt", "w").write("x")),
    read_other=attempt(lambda: open({other!r}).read()),
    connect=attempt(lambda: socket.create_connection(("127.0.0.1", 9), timeout=2)),
    child_reads_other=os.system("cat " + {other!r} + " > /dev/null 2>&1") != 0,
)))
"""


def test_abi_version_is_a_number() -> None:
    assert isinstance(landlock.abi_version(), int) and landlock.abi_version() >= 0


def test_restricted_process_and_its_children(tmp_path: Path) -> None:
    abi = landlock.abi_version()
    if abi < 1:
        pytest.skip("no Landlock on this kernel")
    for name in ("readable", "writable"):
        (tmp_path / name).mkdir()
    (tmp_path / "readable" / "a.txt").write_text("a")
    (tmp_path / "other.txt").write_text("secret")
    code = SCRIPT.format(here=str(Path(landlock.__file__).parent), readable=str(tmp_path / "readable"),
                         writable=str(tmp_path / "writable"), other=str(tmp_path / "other.txt"))  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["abi"] == abi
    assert seen["read_given"] == "ok" and seen["write_own"] == "ok"
    assert seen["write_given_read_only"] == "PermissionError" and seen["read_other"] == "PermissionError"
    assert seen["child_reads_other"] is True  # the restriction holds for children
    if abi >= 4:
        assert seen["connect"] == "PermissionError"
