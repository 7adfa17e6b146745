"""The grading kernel's sandbox: limits, Landlock isolation, clean environment.

The kernel manager gets its settings here as arguments, as the pipeline passes them
(:func:`autograder.pipeline.settings.apply_settings`): what kernels may read, their
environment. Nothing of the course is imported by the sandbox.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import vaecourse

from autograder.course import GRADING_IPYTHON_CONFIG
from autograder.sandbox import landlock, reaper
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
    capabilities=int(open('/proc/self/status').read().split('CapEff:')[1].split()[0], 16),
    cgroup=open('/proc/self/cgroup').read(),
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
    assert probe["capabilities"] == 0  # none, also in a kernel forked from a zygote (no exec)
    assert probe["memory"] == "MemoryError"
    assert probe["data_limit"] == MEMORY_MB * 1024 * 1024
    assert probe["profile"] == "ci" and probe["setting"] == "from-the-caller"
    assert probe["home"] is True
    assert probe["secrets"] == []


def test_kernel_command_carries_the_settings() -> None:
    """The launcher's command line is built from the manager's settings alone."""
    km = SandboxKernelManager(kernel_name="python3", memory_mb=512, cpu_seconds=30, file_mb=4,
                              extra_reads=["/srv/data"], kernel_env={"A": "1"}, landlock=False,
                              zygote=False, folder_mb=64, max_tasks=32, cpus=0.5)  # fmt: skip
    try:
        cmd = km.format_kernel_cmd()
        group, state = km.group, Path(km.state)
        assert Path(km.workdir).parent == state and state.stat().st_mode & 0o077 == 0
    finally:
        asyncio.run(km._end_kernel())  # no kernel ran: the folders and cgroups go at once
    assert not state.exists() and km.kernels[-1]["killed"] == 0
    wrapper, kernel = cmd[: cmd.index("--")], cmd[cmd.index("--") + 1 :]
    assert wrapper[1].endswith("autograder/sandbox/launcher.py")
    pairs = dict(zip(wrapper[2::2], wrapper[3::2], strict=False))
    assert pairs["--memory-mb"] == "512" and pairs["--cpu-seconds"] == "30" and pairs["--file-mb"] == "4"
    assert pairs["--read"] == "/srv/data" and pairs["--env"] == "A=1"
    assert pairs["--state"] == str(state) and pairs["--folder-mb"] == "64"
    if group is not None:  # this process may create cgroups: the kernel joins them, the bound is theirs
        assert [wrapper[i + 1] for i, a in enumerate(wrapper) if a == "--cgroup"] == group.paths
        assert "--max-tasks" not in pairs and group.tasks_max == 32 and group.cpus == 0.5 and not group.exists()
    else:  # the keeper watches the tasks instead
        assert pairs["--max-tasks"] == "32" and "--cgroup" not in pairs
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


STORM = """
import os, signal, time
started = 0
try:
    for _ in range(100):
        if os.fork() == 0:
            os.setsid()
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if os.fork() > 0:
                os._exit(0)  # a double fork: the grandchild is orphaned
            time.sleep(600)
            os._exit(0)
        started += 1
except OSError:
    pass
open("started.txt", "w").write(str(started))
"""


@pytest.mark.parametrize(("zygote", "end", "cgroups"), [
    (True, "shutdown", True), (False, "shutdown", True), (True, "launcher-killed", True),
    (False, "launcher-killed", True), (True, "launcher-killed", False), (False, "shutdown", False),
], ids=["zygote-shutdown", "exec-shutdown", "zygote-killed", "exec-killed", "zygote-killed-no-cgroup",
        "exec-shutdown-no-cgroup"])  # fmt: skip
def test_every_process_a_kernel_starts_ends_with_it(zygote: bool, end: str, cgroups: bool) -> None:
    """100 double-forked children in sessions of their own, deaf to SIGTERM: the kernel's
    task bound stops the storm (its pids cgroup, or without one the keeper), and none is left
    once the kernel is shut down or its launcher killed; the kernel's folder and cgroups are gone."""

    async def main() -> tuple[int, dict, list]:
        km = SandboxKernelManager(kernel_name="python3", **SETTINGS, zygote=zygote, max_tasks=48, cgroups=cgroups)
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=180)
            kernel = reaper.read_proc(km.kernel_pid())
            kc.execute(STORM)
            started = Path(km.workdir) / "started.txt"
            for _ in range(600):
                if started.exists() or not await km.is_alive():  # no pids cgroup: the keeper stopped it
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            out = [started.read_text() if started.exists() else "-1"]
            storm = [p for p in reaper.processes().values() if p.state not in "ZX" and _in_kernel(p, kernel, km)]
            watched = km.group is None or not km.group.bounds_tasks  # a watcher, not a bound: the storm
            for _ in range(400 if watched else 0):  # may end between two of its looks; it stops it at the next
                if not await km.is_alive():
                    break
                await asyncio.sleep(0.05)
            if end == "launcher-killed":
                km.provisioner.process.kill()  # the launcher alone, as any outsider might
                await asyncio.sleep(1)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        return int("".join(out)), km.kernels[-1], storm

    started, record, storm = asyncio.run(main())
    if record.get("cgroup") and record.get("tasks_max"):
        assert 0 < started < 48 and len(storm) >= started  # the cgroup's bound, and they ran
    else:  # the keeper stopped the kernel, in the storm or at its next look after it
        assert started in (-1, 100) and record["reason"] == "the kernel started more than 48 processes and threads"
    assert not [p for p in storm if (q := reaper.read_proc(p.pid)) and q.start == p.start and q.state not in "ZX"]
    assert not Path(record["state"]).exists() and record["killed"] >= max(started, 1)
    if record.get("cgroup"):
        assert record["cgroup_removed"] and record["tasks_peak"] <= 48


def _in_kernel(p: reaper.Proc, kernel: reaper.Proc, km: SandboxKernelManager) -> bool:
    """A process of this kernel: forked from it, so with its command line (exec'd kernels name
    their folder, forked ones their zygote's)."""
    try:
        return p.pid != kernel.pid and Path(f"/proc/{p.pid}/cmdline").read_bytes() == Path(
            f"/proc/{kernel.pid}/cmdline").read_bytes() and p.start >= kernel.start  # fmt: skip
    except OSError:
        return False
