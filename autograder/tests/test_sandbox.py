"""The grading kernel's sandbox: limits, Landlock isolation, clean environment."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from autograder import landlock
from autograder.kernel import SandboxKernelManager

REPO = Path(__file__).resolve().parents[2]


def run_in_kernel(code: str, **traits) -> tuple[str, list[str]]:
    """Run ``code`` in a sandboxed kernel; return (status, stdout lines)."""

    async def main() -> tuple[str, list[str]]:
        km = SandboxKernelManager(kernel_name="python3", **traits)
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=180)
            out: list[str] = []
            reply = await kc.execute_interactive(
                code, timeout=120,
                output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
            )  # fmt: skip
            return reply["content"]["status"], "".join(out).splitlines()
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    return asyncio.run(main())


PROBE = f"""
import os, json, resource, socket
def attempt(action):
    try:
        action()
        return "ok"
    except BaseException as e:
        return type(e).__name__
result = dict(
    read_repo=attempt(lambda: open({str(REPO / 'README.md')!r}).read()),
    list_repo=attempt(lambda: os.listdir({str(REPO)!r})),
    write_tmp=attempt(lambda: open('/tmp/vaecourse-sandbox-probe', 'w').write('x')),
    write_home=attempt(lambda: open(os.path.expanduser('~/probe.txt'), 'w').write('x')),
    import_helpers=attempt(lambda: __import__('vaecourse.checks')),
    connect=attempt(lambda: socket.create_connection(('127.0.0.1', 9), timeout=2)),
    kill_parent=attempt(lambda: os.kill(os.getppid(), 0)),
    memory=attempt(lambda: bytearray(8 * 1024 ** 3)),
    profile=os.environ.get('VAECOURSE_PROFILE'),
    sandbox=os.environ.get('VAECOURSE_SANDBOX'),
    secrets=sorted(k for k in os.environ if 'TOKEN' in k or 'SECRET' in k or k == 'VAECOURSE_COURSE_DIR'),
    data_limit=resource.getrlimit(resource.RLIMIT_DATA)[0],
)
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def probe() -> dict:
    status, lines = run_in_kernel(PROBE)
    assert status == "ok", lines
    return json.loads(lines[-1])


def test_kernel_sees_its_own_folder_and_the_helpers_only(probe: dict) -> None:
    assert probe["import_helpers"] == "ok"
    assert probe["write_home"] == "ok"  # HOME is the private temporary folder
    if landlock.abi_version() < 1:
        pytest.skip("no Landlock on this kernel: limits only")
    assert probe["read_repo"] != "ok" and probe["list_repo"] != "ok"
    assert probe["write_tmp"] != "ok"
    assert probe["sandbox"].startswith("landlock-abi-")


def test_network_and_signals_blocked(probe: dict) -> None:
    abi = landlock.abi_version()
    if abi < 4:
        pytest.skip(f"Landlock ABI {abi} < 4: this kernel cannot block network connections")
    assert probe["connect"] == "PermissionError"
    if abi >= 6:
        assert probe["kill_parent"] == "PermissionError"


def test_limits_and_environment(probe: dict) -> None:
    assert probe["memory"] == "MemoryError"
    assert probe["data_limit"] == 3072 * 1024 * 1024
    assert probe["profile"] == "ci"
    assert probe["secrets"] == []


def test_kernel_workdir_is_removed() -> None:
    status, lines = run_in_kernel("import os; print(os.getcwd())")
    assert status == "ok"
    assert lines[-1].startswith("/") and not Path(lines[-1]).exists()
