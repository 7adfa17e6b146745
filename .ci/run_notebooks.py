"""Run source notebooks top to bottom in a given Jupyter kernel; fail on any cell error.

A source notebook holds the reference answers and every visible and hidden test, so a run
without errors means the reference passes every test in that kernel. Used by
.ci/colab-versions to run the notebooks in a kernel with Colab's exact IPython/ipykernel.

    python .ci/run_notebooks.py --kernel colab mnist_vae kl_theory   # default: every assignment
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run(path: Path, kernel: str, timeout: int) -> list[str]:
    """Execute ``path`` in ``kernel`` (outputs kept in memory only); return its errors."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    client.execute()
    return [
        f"cell {i}: {out['ename']}: {out['evalue'][:300]}"
        for i, cell in enumerate(nb.cells)
        for out in cell.get("outputs", [])
        if out["output_type"] == "error"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    parser.add_argument("--kernel", required=True, help="kernel name (a kernelspec on JUPYTER_PATH)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    names = args.assignments or sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb"))
    failed = 0
    for name in names:
        path = ROOT / "solutions" / name / f"{name}.ipynb"
        start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        errors = run(path, args.kernel, args.timeout)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        kernel_cpu = (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
        verdict = "ok  " if not errors else "FAIL"
        print(f"{verdict} {name:12s} {len(errors)} cell errors, {time.perf_counter() - start:.1f} s wall, "
              f"{kernel_cpu:.1f} CPU-s in the kernel")  # fmt: skip
        for line in errors:
            print(f"       {line}")
        failed += bool(errors)
    print(f"{len(names)} notebooks, {failed} with errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
