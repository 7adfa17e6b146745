"""The full-scale check: every notebook in the *full* profile, with only training capped.

What students run in Colab is the full profile: all the data at its real size, the full
models, every evaluation, figure and table. This script runs each source notebook (the
reference answers) that way on a CPU, with two switches from ``vaecourse.config``:

* ``VAECOURSE_MAX_STEPS`` (default here 5): every training call stops after that many
  optimizer steps, so the run takes minutes, not hours;
* ``VAECOURSE_PAD_TO_FULL=1``: local data copies smaller than the real dataset (the
  CIFAR-10 subset, the 10,000 local CelebA faces) are padded to the real sizes (CIFAR-10
  50,000/10,000, CelebA 202,599), so every evaluation meets the real memory load.

Each notebook runs in its own process; printed per notebook: wall seconds, CPU seconds
(that process and its kernel), and the peak resident memory of the larger of the two (the
kernel). A notebook that raises, or whose peak memory exceeds ``--max-rss-gb``, fails the
run (exit 1). The executed copies go to ``out/fullscale/`` (never into ``solutions/``).

    VAECOURSE_DATA=../shared/data python benchmarks/fullscale.py            # all five
    python benchmarks/fullscale.py mnist_vae --max-steps 20 --max-rss-gb 6

The machine is shared and throttled: read the CPU seconds next to the wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("mnist_vae", "cifar10_vae", "mmd_vae", "celeba_vae", "kl_theory")
OUT = ROOT / "out" / "fullscale"


def _environment(max_steps: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VAECOURSE_PROFILE="full",
        VAECOURSE_MAX_STEPS=str(max_steps),
        VAECOURSE_PAD_TO_FULL="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        TF_ENABLE_ONEDNN_OPTS="0",
        MPLBACKEND="Agg",
        PYTHONHASHSEED="0",
    )
    shared = ROOT.parent / "shared" / "data"
    if not env.get("VAECOURSE_DATA") and shared.is_dir():
        env["VAECOURSE_DATA"] = str(shared)
    return env


def execute_one(assignment: str, timeout: int) -> None:
    """Run one source notebook top to bottom in this process's kernel; save the copy."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(source.parent)}},
    )  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as error:
        print(str(error)[-3000:], file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        nbformat.write(nb, OUT / f"{assignment}.ipynb")
        # the kernel has been shut down and waited for: RUSAGE_CHILDREN now covers it
        own, kernel = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        usage = {
            "cpu_s": own.ru_utime + own.ru_stime + kernel.ru_utime + kernel.ru_stime,
            "peak_rss_mb": round(max(own.ru_maxrss, kernel.ru_maxrss) / 1024),
        }
        (OUT / f"{assignment}.usage.json").write_text(json.dumps(usage))


def measure(assignment: str, max_steps: int, timeout: int) -> dict[str, object]:
    """Run one notebook in a child process; return its wall, CPU and peak memory."""
    usage_file = OUT / f"{assignment}.usage.json"
    usage_file.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--one", assignment, "--cell-timeout", str(timeout)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=_environment(max_steps), cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    usage = json.loads(usage_file.read_text()) if usage_file.exists() else {}
    return {
        "assignment": assignment,
        "ok": proc.returncode == 0,
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.get("cpu_s", float("nan")), 1),
        "peak_rss_mb": usage.get("peak_rss_mb", 0),
        "output_tail": (proc.stdout + proc.stderr)[-3000:],
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS))
    parser.add_argument("--max-steps", type=int, default=5, help="optimizer steps per training call")
    parser.add_argument("--max-rss-gb", type=float, default=8.0, help="fail above this peak memory")
    parser.add_argument("--cell-timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        execute_one(args.one, args.cell_timeout)
        return 0
    for name in args.assignments:
        if name not in ASSIGNMENTS:
            parser.error(f"unknown assignment {name!r}; choose from {', '.join(ASSIGNMENTS)}")
    print(f"full profile, VAECOURSE_MAX_STEPS={args.max_steps}, VAECOURSE_PAD_TO_FULL=1, "
          f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'notebook':<14}{'result':>8}{'wall s':>9}{'CPU s':>9}{'peak MB':>9}")
    OUT.mkdir(parents=True, exist_ok=True)
    rows, failed = [], False
    for name in args.assignments:
        row = measure(name, args.max_steps, args.cell_timeout)
        too_big = row["peak_rss_mb"] > args.max_rss_gb * 1024
        result = "ok" if row["ok"] and not too_big else ("MEMORY" if row["ok"] else "ERROR")
        failed |= result != "ok"
        print(f"{name:<14}{result:>8}{row['wall_s']:>9.1f}{row['cpu_s']:>9.1f}{row['peak_rss_mb']:>9}")
        if result == "ERROR":
            print(row["output_tail"])
        rows.append(row)
    (OUT / "fullscale.json").write_text(json.dumps(rows, indent=2))
    print(f"executed copies and fullscale.json in {OUT.relative_to(ROOT)}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
