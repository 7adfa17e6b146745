"""The grading kernel's sandbox: limits, Landlock isolation, clean environment.

The kernel manager gets its settings here as arguments, as the pipeline passes them
(:func:`autograder.pipeline.settings.apply_settings`): what kernels may read, their
environment. Nothing of the course is imported by the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
import vaecourse

from autograder.course import GRADING_IPYTHON_CONFIG
from autograder.sandbox import landlock
from autograder.sandbox.kernel import MEMORY_MB, SandboxKernelManager

REPO = Path(__file__).resolve().parents[3]
#: what the pipeline gives a grading kernel, written out: the helpers package, the profile
SETTINGS = {"extra_reads": [str(Path(vaecourse.__file__).resolve().parents[1])],
            "kernel_env": {"VAECOURSE_PROFILE": "ci", "COURSE_SETTING": "from-the-caller"}}  # fmt: skip


def run_in_kernel(code: str, **traits) -> tuple[str, list[str]]:
    """Run ``code`` in a sandboxed kernel with :data:`SETTINGS`; return (status, stdout lines)."""

    async def main() -> tuple[str, list[str]]:
        km = SandboxKernelManager(kernel_name="python3", **{**SETTINGS, **traits})
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
    setting=os.environ.get('COURSE_SETTING'),
    home=os.environ.get('HOME') == os.getcwd(),
    sandbox=os.environ.get('VAECOURSE_SANDBOX'),
    secrets=sorted(k for k in os.environ if 'TOKEN' in k or 'SECRET' in k or k == 'VAECOURSE_COURSE_DIR'),
    data_limit=resource.getrlimit(resource.RLIMIT_DATA)[0],
)
print(json.dumps(result))
"""


@pytest.fixture(scope="module", params=[True, False], ids=["zygote", "exec"])
def probe(request: pytest.FixtureRequest) -> dict:
    """The probe's findings in a kernel forked from a zygote and in one started by exec:
    the same sandbox either way."""
    status, lines = run_in_kernel(PROBE, zygote=request.param)
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
    assert probe["data_limit"] == MEMORY_MB * 1024 * 1024
    assert probe["profile"] == "ci" and probe["setting"] == "from-the-caller"
    assert probe["home"] is True
    assert probe["secrets"] == []


def test_kernel_command_carries_the_settings() -> None:
    """The launcher's command line is built from the manager's settings alone."""
    km = SandboxKernelManager(kernel_name="python3", memory_mb=512, cpu_seconds=30, file_mb=4,
                              extra_reads=["/srv/data"], kernel_env={"A": "1"}, landlock=False,
                              zygote=False)  # fmt: skip
    try:
        cmd = km.format_kernel_cmd()
    finally:
        shutil.rmtree(km.workdir, ignore_errors=True)
    wrapper, kernel = cmd[: cmd.index("--")], cmd[cmd.index("--") + 1 :]
    assert wrapper[1].endswith("autograder/sandbox/launcher.py")
    pairs = dict(zip(wrapper[2::2], wrapper[3::2], strict=False))
    assert pairs["--memory-mb"] == "512" and pairs["--cpu-seconds"] == "30" and pairs["--file-mb"] == "4"
    assert pairs["--read"] == "/srv/data" and pairs["--env"] == "A=1"
    assert wrapper[-1] == "--no-landlock"
    assert "ipykernel_launcher" in " ".join(kernel)
    plain = SandboxKernelManager(kernel_name="python3", sandbox=False)
    assert "launcher.py" not in " ".join(plain.format_kernel_cmd())


def test_kernel_workdir_is_removed() -> None:
    status, lines = run_in_kernel("import os; print(os.getcwd())")
    assert status == "ok"
    assert lines[-1].startswith("/") and not Path(lines[-1]).exists()


def test_ipython_config_reaches_the_kernel() -> None:
    """ipython_config lines become the kernel's ipython_kernel_config.py. The grading lines:
    figures as text, a figure left open at a cell's end is not drawn (with the default
    settings it is), and nothing is left in the notebook's namespace."""
    cells = [
        "%matplotlib inline\nimport matplotlib.pyplot as plt\ndraws = []\nfig = plt.figure()\n"
        "fig.canvas.mpl_connect('draw_event', lambda event: draws.append(1))\nfig.gca().plot([1, 2])",
        "print(len(draws), sorted(k for k in globals() if 'vaecourse' in k))",
    ]

    async def run(**traits) -> tuple[list[str], str]:
        km = SandboxKernelManager(kernel_name="python3", **{**SETTINGS, **traits})
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        seen: list[str] = []
        printed: list[str] = []

        def hook(m: dict) -> None:
            if m["msg_type"] == "display_data":
                seen.extend(m["content"]["data"])
            elif m["msg_type"] == "stream":
                printed.append(m["content"]["text"])

        try:
            await kc.wait_for_ready(timeout=180)
            for code in cells:
                await kc.execute_interactive(code, timeout=120, output_hook=hook)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        draws, names = "".join(printed).split(" ", 1)
        assert names.strip() == "[]"
        return sorted(seen), int(draws)

    seen, draws = asyncio.run(run())
    assert seen == ["image/png", "text/plain"] and draws >= 2  # redrawn at the cell's end, then printed
    assert asyncio.run(run(ipython_config=["c.InlineBackend.figure_formats = set()"])) == (["text/plain"], 1)
    assert asyncio.run(run(ipython_config=list(GRADING_IPYTHON_CONFIG))) == (["text/plain"], 0)
