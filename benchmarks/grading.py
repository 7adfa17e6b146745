"""Grading speed: seconds per student and students per minute for 1, 2 and 4 workers.

Each "student" submits the reference solution of every assignment (the complete series),
graded exactly as in a class: nbgrader autograde in sandboxed kernels, grading profile.
Every reference must score full marks on its autograded cells, or the run fails (a kernel
that cannot even import ``vaecourse`` is fast, and worthless).
For each worker count the same students are graded from scratch in a fresh gradebook.
Printed per configuration: wall seconds, CPU seconds (grader + kernels), seconds of wall
time and CPU seconds per student, students per minute, and the largest kernel's peak
resident memory; then where the time goes: per notebook, the kernel start-up (until the
first cell runs), the sum of the cells, and the costliest cells (wall and kernel CPU
seconds, from the grading reports of :class:`autograder.sandbox.execute.GuardedExecute`).

The baseline, measured in the same run (``--baseline``, on by default): stock nbgrader's
``autograde`` on the same submissions, serial, with nbgrader's own ``Execute`` and
kernel manager (no sandbox, no restarts, no output caps, nbgrader's 30 s cell timeout),
the kernels given the same environment (grading profile, data folder).

    VAECOURSE_DATA=../shared/data python benchmarks/grading.py --students 4 --jobs 1 2 4

Each run of our grader pays a start-up (worker processes, the frameworks imported once by the
kernels' zygotes, about 12 s on 2 cores) that a class spreads over its students: more
``--students`` give the per-student figure of a real class. Stock nbgrader grades serially
with no such start-up; ``--baseline-students`` grades fewer students for it.

The machine is shared and throttled: compare the configurations within one run (ratios),
and read the CPU seconds next to the wall seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.course import Course  # noqa: E402
from autograder.pipeline.grade import GradeResult, autograde, prepare_gradebook, scores  # noqa: E402
from autograder.pipeline.settings import KERNEL_THREADS_ENV, kernel_env, nbgrader_config  # noqa: E402
from autograder.proofs.build import read_spec, reference_case, release_of, write_submission  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process, its finished children (the zygotes and their kernels), and
    the grading workers: children of the pool's forkserver, which reaps them before a pool's
    ``join`` returns (its own and its children's time, read from ``/proc``)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system + sum(map(_tree_cpu, _child_pids()))


def _stat_fields(pid: int | str) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the name (state, ppid, ...); [] if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _child_pids() -> list[int]:
    me = str(os.getpid())
    return [int(p.name) for p in Path("/proc").glob("[0-9]*") if _stat_fields(p.name)[1:2] == [me]]


def _tree_cpu(pid: int) -> float:
    """A live process's CPU seconds and those of its reaped children."""
    # after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return sum(int(v) for v in _stat_fields(pid)[11:15]) / os.sysconf("SC_CLK_TCK")


def stock_autograde(work: Course, pairs: list[tuple[str, str]]) -> list[GradeResult]:
    """Plain nbgrader ``autograde`` of ``pairs``, serial: nbgrader's own ``Execute`` and
    kernel manager (no sandbox), the course's folders and gradebook."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.converters.autograde import Autograde
    from nbgrader.coursedir import CourseDirectory

    config = nbgrader_config(work, release=work.grading_release)
    config.Autograde.autograde_preprocessors = list(
        Autograde.class_traits()["autograde_preprocessors"].make_dynamic_default()
    )
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    results = []
    for assignment, student in pairs:
        start = time.perf_counter()
        outcome = api.autograde(assignment, student, force=True, create=True)
        results.append(GradeResult(student, assignment, bool(outcome.get("success")), time.perf_counter() - start,
                                   error=(outcome.get("error") or "")[-300:]))  # fmt: skip
    return results


def run(course: Course, assignments: list[str], students: int, jobs: int, stock: bool = False) -> dict:
    """Grade ``students`` complete series with ``jobs`` workers (``stock``: plain nbgrader,
    serial); return the measurements."""
    with tempfile.TemporaryDirectory(prefix=f"vaecourse-bench-{jobs}-") as tmp:
        work = course.with_work(Path(tmp))
        prepare_gradebook(work, assignments)
        for a in assignments:
            reference = reference_case(release_of(work, a), read_spec(work, a))
            for k in range(students):
                write_submission(work, replace(reference, student=f"s{k:03d}"))
        pairs = [(a, f"s{k:03d}") for k in range(students) for a in assignments]
        start, cpu0 = time.perf_counter(), _cpu()
        results = stock_autograde(work, pairs) if stock else autograde(work, pairs, jobs=jobs)
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
        "cpu_per_student": cpu / students,
        "per_minute": 60 * students / wall,
        "peak_mb": max((r.kernel_peak_mb for r in results), default=0.0),
        "failed": len(failed),
        "results": results,
        **{f"nb:{a}": sum(v) / len(v) for a, v in per_notebook.items()},
    }


def where_time_goes(results: list[GradeResult], top: int = 3) -> list[str]:
    """Per notebook: mean wall in a worker, kernel start-up, the cells' wall and kernel CPU,
    and the ``top`` costliest cells (by kernel CPU)."""
    lines = []
    for assignment in dict.fromkeys(r.assignment for r in results):
        mine = [r for r in results if r.assignment == assignment]
        n = len(mine)
        startup = sum(r.startup or 0.0 for r in mine) / n
        cell_wall = sum(c["wall"] for r in mine for c in r.cells) / n
        cell_cpu = sum(c["cpu"] or 0.0 for r in mine for c in r.cells) / n
        per_cell: dict[int, list[dict]] = {}
        for r in mine:
            for c in r.cells:
                per_cell.setdefault(c["cell"], []).append(c)
        costly = sorted(per_cell.values(), key=lambda cs: -sum(c["cpu"] or 0.0 for c in cs))[:top]
        lines.append(
            f"   {assignment}: {sum(r.seconds for r in mine) / n:.1f} s in a worker = kernel start-up "
            f"{startup:.1f} s + {len(per_cell)} code cells {cell_wall:.1f} s wall / {cell_cpu:.1f} s kernel CPU"
            " + nbgrader's own work; costliest cells: "
            + "; ".join(
                f"#{cs[0]['cell']} {cs[0]['grade_id'] or repr(cs[0]['source'][:30])} "
                f"{sum(c['wall'] for c in cs) / n:.1f} s / {sum(c['cpu'] or 0.0 for c in cs) / n:.1f} CPU-s"
                for cs in costly
            )
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--assignments", nargs="*", help="default: every assignment with a source")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip stock nbgrader (serial, no sandbox)")  # fmt: skip
    parser.add_argument("--baseline-students", type=int,
                        help="students for stock nbgrader (default: --students); it grades serially "
                        "with no start-up to spread, so its time per student does not depend on this")  # fmt: skip
    parser.add_argument("--top", type=int, default=3, help="costliest cells shown per notebook")
    parser.add_argument("--threads", nargs="+", default=["auto"],
                        help="threads per grading kernel to compare (auto: cores / workers, the "
                        "default; 0: the frameworks' defaults), e.g. --threads auto 0")  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("VAECOURSE_PROFILE", "ci")
    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy's notes on nbgrader's sessions
    for key, value in kernel_env().items():  # the stock kernels inherit the grader's environment
        os.environ.setdefault(key, value)
    course = Course.default()
    assignments = args.assignments or course.assignments()
    print(f"grading {args.students} students x {len(assignments)} notebooks ({', '.join(assignments)}), "
          f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    rows = []
    configs = [("stock nbgrader", 1, True, "0")] if args.baseline else []
    configs += [(f"jobs={j}" + (f" threads={t}" if len(args.threads) > 1 else ""), j, False, t)
                for j in args.jobs for t in args.threads]  # fmt: skip
    for label, jobs, stock, threads in configs:
        os.environ[KERNEL_THREADS_ENV] = threads
        students = (args.baseline_students or args.students) if stock else args.students
        m = run(course, assignments, students, jobs, stock=stock)
        rows.append((label, m))
        print(
            f"{label} ({students} students): wall {m['wall']:.1f} s, cpu {m['cpu']:.1f} s, "
            f"{m['per_student']:.1f} s and {m['cpu_per_student']:.1f} CPU-s per student, "
            f"{m['per_minute']:.2f} students/min, kernel peak {m['peak_mb']:.0f} MB, "
            f"not full marks {m['failed']:.0f} (load average now {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        print("   mean seconds per notebook (in a worker): "
              + ", ".join(f"{k[3:]} {v:.1f}" for k, v in m.items() if k.startswith("nb:")))  # fmt: skip
        if not stock:
            print("\n".join(where_time_goes(m["results"], args.top)), flush=True)
    base_label, base = rows[0][0], rows[0][1]
    print(f"speed-up vs {base_label} (wall per student; CPU-s per student ratio): "
          + ", ".join(f"{label}: {base['per_student'] / m['per_student']:.2f}x; "
                      f"{m['cpu_per_student'] / base['cpu_per_student']:.2f}" for label, m in rows))  # fmt: skip
    if any(m["failed"] for _, m in rows):
        sys.exit("some reference notebooks did not score full marks: the timings above are not valid")


if __name__ == "__main__":
    main()
