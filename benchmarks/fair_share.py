"""The CPU share of a kernel's processes: an honest kernel's time next to a fork storm.

Two grading kernels run side by side, as two grading workers run them
(:class:`autograder.sandbox.kernel.SandboxKernelManager`, each with its own cgroups and cores / 2
of CPU time, the grader's default for 2 workers): an *honest* kernel computes for a fixed
``--work`` CPU-seconds (pure Python) while its *neighbour*

* ``idle``: does nothing;
* ``storm``: runs ``--spinners`` busy processes in sessions of their own that ignore SIGTERM;
* ``storm, no CPU quota``: the same, both kernels in cgroups without a CPU quota (the bound on
  processes and the clean kill still hold);
* ``storm, no cgroups``: the same, no cgroups at all (how kernels ran before issue 26: every
  process of the storm is scheduled on its own).

Printed per variant (repeated ``--repeat`` times, the variants interleaved): the honest
kernel's wall seconds for its work (``--work`` is the best possible), its CPU seconds, the
ratio to the idle variant of the same repeat, and the cores the neighbour's processes used
(its cgroup's CPU seconds per second alive). The machine is shared: compare within a run.

    python benchmarks/fair_share.py --work 3 --spinners 6 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.sandbox.kernel import SandboxKernelManager, stop_zygotes  # noqa: E402

WORK = """\
import time
t0, w0, n = time.process_time(), time.monotonic(), 0
while time.process_time() - t0 < {work}:
    n += 1
print(time.monotonic() - w0, time.process_time() - t0)
"""
SPINNERS = """\
import os, signal
for _ in range({n}):
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            pass
"""
VARIANTS = {"idle": (None, True, True), "storm": (SPINNERS, True, True),
            "storm, no CPU quota": (SPINNERS, True, False), "storm, no cgroups": (SPINNERS, False, False)}  # fmt: skip


async def _kernel(cgroups: bool, quota: bool) -> tuple[SandboxKernelManager, object]:
    share = (os.cpu_count() or 1) / 2 if quota else 0.0
    km = SandboxKernelManager(kernel_name="python3", cgroups=cgroups, cpus=share, zygote=False)
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=180)
    return km, kc


async def _stop(km: SandboxKernelManager, kc: object) -> dict:
    kc.stop_channels()  # type: ignore[attr-defined]
    await km.shutdown_kernel(now=True)
    return km.kernels[-1]


async def measure(variant: str, work: float, spinners: int) -> dict:
    """The honest kernel's wall and CPU seconds for ``work`` CPU-seconds next to ``variant``."""
    storm, cgroups, quota = VARIANTS[variant]
    honest, neighbour = await asyncio.gather(_kernel(cgroups, quota), _kernel(cgroups, quota))
    try:
        if storm:
            await neighbour[1].execute_interactive(storm.format(n=spinners), timeout=60)
            await asyncio.sleep(1)  # the spinners are running
        out: list[str] = []
        await honest[1].execute_interactive(
            WORK.format(work=work), timeout=600,
            output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
        )  # fmt: skip
        wall, cpu = map(float, "".join(out).split())
    finally:
        other = await _stop(*neighbour)
        await _stop(*honest)
    cores = other["cpu_seconds"] / other["seconds"] if other.get("cpu_seconds") and other.get("seconds") else None
    return {"wall": wall, "cpu": cpu, "neighbour_cores": cores, "killed": other["killed"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=float, default=3.0, help="the honest kernel's CPU-seconds of work")
    parser.add_argument("--spinners", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"honest kernel: {args.work} CPU-s of work; neighbour: {args.spinners} spinners; "
          f"{os.cpu_count()} CPUs, CPU share per kernel {(os.cpu_count() or 1) / 2:g} cores", flush=True)  # fmt: skip
    try:
        for repeat in range(1, args.repeat + 1):
            idle = None
            for variant in VARIANTS:
                load = " ".join(f"{x:.1f}" for x in os.getloadavg())
                m = asyncio.run(measure(variant, args.work, args.spinners))
                idle = idle or m["wall"]
                cores = "n/a" if m["neighbour_cores"] is None else f"{m['neighbour_cores']:.2f}"
                print(f"repeat {repeat}, {variant:20s}: honest {m['wall']:5.2f} s wall for {m['cpu']:.2f} CPU-s "
                      f"({m['wall'] / idle:.2f}x idle); neighbour used {cores} cores, {m['killed']} processes "
                      f"killed at its end; load {load}", flush=True)  # fmt: skip
            time.sleep(0.5)
    finally:
        stop_zygotes()


if __name__ == "__main__":
    main()
