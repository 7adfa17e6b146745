"""``python -m autograder``: the instructors' commands (a thin layer over nbgrader)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .course import GRADING_PROFILE, Course


def _assignments(course: Course, names: list[str]) -> list[str]:
    if not names or names == ["all"]:
        found = course.assignments()
        if not found:
            raise SystemExit(f"no source notebooks under {course.source}")
        return found
    for name in names:
        course.require(name)
    return names


def _env() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("PYTHONHASHSEED", "0")


def cmd_release(args: argparse.Namespace, course: Course) -> int:
    from .release import release

    for path in release(course, _assignments(course, args.assignments)):
        print(f"released {path.relative_to(course.root) if path.is_relative_to(course.root) else path}")
    return 0


def cmd_check_release(args: argparse.Namespace, course: Course) -> int:
    from .release import release_differences

    problems = [p for a in _assignments(course, args.assignments) for p in release_differences(course, a)]
    print("\n".join(problems) if problems else "notebooks/ are up to date")
    return 1 if problems else 0


def cmd_samples(args: argparse.Namespace, course: Course) -> int:
    from .verify import format_run, run_samples

    run = run_samples(course, _assignments(course, args.assignments), jobs=args.jobs)
    print(format_run(run, verbose=not args.quiet))
    return 0 if run.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Release, collect, autograde, return and verify the VAE course "
        "assignments with nbgrader.",
    )
    parser.add_argument("--course-dir", type=Path, help="working folder (default autograder/course)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/ (nbgrader generate_assignment)")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("check-release", help="exit 1 if notebooks/ differ from what release generates")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(func=cmd_check_release)

    p = sub.add_parser("samples", help="autograde the sample submissions, compare with expected scores")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("-j", "--jobs", type=int, default=2, help="parallel workers (default 2)")
    p.add_argument("-q", "--quiet", action="store_true", help="one line per sample unless it differs")
    p.set_defaults(func=cmd_samples)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    _env()
    args = build_parser().parse_args(argv)
    course = Course.default()
    if args.course_dir:
        course = course.with_work(args.course_dir)
    os.environ.setdefault("VAECOURSE_PROFILE", GRADING_PROFILE)
    return int(args.func(args, course) or 0)


if __name__ == "__main__":
    sys.exit(main())
