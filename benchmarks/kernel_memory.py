"""Peak memory of each assignment's grading kernel: what the sandbox's memory limit must allow.

Grades the reference solution of every assignment (one notebook at a time, nbgrader autograde
in the sandboxed kernel, grading profile) while sampling the kernel's ``/proc/<pid>/status``
every 0.05 s. Printed per assignment: the largest data segment seen (``VmData``, what
``RLIMIT_DATA`` limits), the kernel's peak resident memory (``VmHWM``), and whether the
reference scored full marks under the configured limit
(``autograder.sandbox.kernel.MEMORY_MB``).

    VAECOURSE_DATA=../shared/data python benchmarks/kernel_memory.py [--assignments ...]

Sampling can miss a spike shorter than the interval; the limit itself is proven by grading
every sample and the demo under it (``python -m autograder samples``, ``demo``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.course import Course  # noqa: E402
from autograder.pipeline.grade import autograde, prepare_gradebook, scores  # noqa: E402
from autograder.proofs.build import read_spec, reference_case, release_of, write_submission  # noqa: E402
from autograder.sandbox.kernel import MEMORY_MB  # noqa: E402


def _status(pid: int) -> dict[str, int]:
    """``VmData``, ``VmRSS``, ``VmHWM`` of a process in MiB ({} when it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return {k: int(fields[k].split()[0]) // 1024 for k in ("VmData", "VmRSS", "VmHWM") if k in fields}


def _kernels() -> list[int]:
    """Kernel processes started by this process (the launcher execs into the kernel)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(next(x for x in (entry / "status").read_text().splitlines() if x.startswith("PPid:")).split()[1])
            if ppid == os.getpid() and b"ipykernel" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, StopIteration, ValueError):
            continue
    return found


def measure(course: Course, assignment: str) -> dict[str, float]:
    """Grade the reference of ``assignment`` once; the peaks seen and the score."""
    peak = {"VmData": 0, "VmHWM": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            for pid in _kernels():
                for key, value in _status(pid).items():
                    if key in peak:
                        peak[key] = max(peak[key], value)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        [result] = autograde(course, [(assignment, "reference")], jobs=1)
    finally:
        done.set()
        thread.join()
    cells = scores(course, assignment)["reference"].values()
    full = result.success and all((c.auto_score or 0) == c.max_score for c in cells if not c.manual)
    return {**peak, "rusage_mb": result.kernel_peak_mb, "seconds": result.seconds, "full": full}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", nargs="*", help="default: every assignment with a source")
    args = parser.parse_args()
    os.environ.setdefault("VAECOURSE_PROFILE", "ci")
    course = Course.default()
    assignments = args.assignments or course.assignments()
    print(f"kernel data segment limit {MEMORY_MB} MiB; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="vaecourse-memory-") as tmp:
        work = course.with_work(Path(tmp))
        prepare_gradebook(work, assignments)
        for a in assignments:
            write_submission(work, reference_case(release_of(work, a), read_spec(work, a)))
            m = measure(work, a)
            print(f"{a:12s} data segment peak {m['VmData']:5d} MiB, resident peak {m['VmHWM']:5d} MiB, "
                  f"{m['seconds']:5.1f} s, {'full marks' if m['full'] else 'NOT FULL MARKS'}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
