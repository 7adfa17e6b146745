"""Grading speed: seconds per student and students per minute for 1, 2 and 4 workers.

Each "student" submits the reference solution of every assignment (the complete series),
graded exactly as in a class: nbgrader autograde in sandboxed kernels, grading profile.
Every reference must score full marks on its autograded cells, or the run fails (a kernel
that cannot even import ``vaecourse`` is fast, and worthless).
For each worker count the same students are graded from scratch in a fresh gradebook.
Printed per configuration: wall seconds, CPU seconds (grader + kernels), seconds of wall
time per student, students per minute, and the largest kernel's peak resident memory.

    VAECOURSE_DATA=../shared/data python benchmarks/grading.py --students 4 --jobs 1 2 4

The machine is shared and throttled: compare the configurations within one run (ratios),
and read the CPU seconds next to the wall seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.course import Course  # noqa: E402
from autograder.pipeline.grade import autograde, prepare_gradebook, scores  # noqa: E402
from autograder.proofs.build import read_spec, reference_case, release_of, write_submission  # noqa: E402


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run(course: Course, assignments: list[str], students: int, jobs: int) -> dict[str, float]:
    """Grade ``students`` complete series with ``jobs`` workers; return the measurements."""
    with tempfile.TemporaryDirectory(prefix=f"vaecourse-bench-{jobs}-") as tmp:
        work = course.with_work(Path(tmp))
        prepare_gradebook(work, assignments)
        for a in assignments:
            reference = reference_case(release_of(work, a), read_spec(work, a))
            for k in range(students):
                write_submission(work, replace(reference, student=f"s{k:03d}"))
        pairs = [(a, f"s{k:03d}") for k in range(students) for a in assignments]
        start, cpu0 = time.perf_counter(), _cpu()
        results = autograde(work, pairs, jobs=jobs)
        wall, cpu = time.perf_counter() - start, _cpu() - cpu0
        # a run that graded nothing (e.g. the kernels cannot import vaecourse) is not fast
        lost = [
            f"{student}/{a}"
            for a in assignments
            for student, cells in scores(work, a).items()
            if any(not c.manual and (c.auto_score or 0.0) < c.max_score for c in cells.values())
        ]
    failed = sorted({f"{r.student}/{r.assignment}" for r in results if not r.success} | set(lost))
    if failed:
        print(f"   NOT FULL MARKS for the reference in {len(failed)} notebooks: {', '.join(failed[:5])}", flush=True)
    per_notebook: dict[str, list[float]] = {}
    for r in results:
        per_notebook.setdefault(r.assignment, []).append(r.seconds)
    return {
        "wall": wall,
        "cpu": cpu,
        "per_student": wall / students,
        "per_minute": 60 * students / wall,
        "peak_mb": max((r.kernel_peak_mb for r in results), default=0.0),
        "failed": len(failed),
        **{f"nb:{a}": sum(v) / len(v) for a, v in per_notebook.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--assignments", nargs="*", help="default: every assignment with a source")
    args = parser.parse_args()
    os.environ.setdefault("VAECOURSE_PROFILE", "ci")
    course = Course.default()
    assignments = args.assignments or course.assignments()
    print(f"grading {args.students} students x {len(assignments)} notebooks ({', '.join(assignments)}), "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    rows = []
    for jobs in args.jobs:
        m = run(course, assignments, args.students, jobs)
        rows.append((jobs, m))
        print(
            f"jobs={jobs}: wall {m['wall']:.1f} s, cpu {m['cpu']:.1f} s, "
            f"{m['per_student']:.1f} s per student, {m['per_minute']:.2f} students/min, "
            f"kernel peak {m['peak_mb']:.0f} MB, not full marks {m['failed']:.0f}",
            flush=True,
        )
        print("   mean seconds per notebook (in a worker): "
              + ", ".join(f"{k[3:]} {v:.1f}" for k, v in m.items() if k.startswith("nb:")))  # fmt: skip
    base = rows[0][1]["wall"]
    print(f"speed-up vs jobs={rows[0][0]}: " + ", ".join(f"jobs={j}: {base / m['wall']:.2f}x" for j, m in rows))
    if any(m["failed"] for _, m in rows):
        sys.exit("some reference notebooks did not score full marks: the timings above are not valid")


if __name__ == "__main__":
    main()
