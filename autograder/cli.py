"""``python -m autograder``: the instructors' commands (a thin layer over nbgrader).

Each command parses its arguments, calls one function of :mod:`autograder.pipeline` or
:mod:`autograder.proofs` and prints what it returns; nothing else happens here. Imports are
inside the commands, so ``--help`` stays fast. Issue 11's ``publish``, issue 13's ``status``
and ``formgrader`` and issue 16's ``autograde --shard k/N`` and ``merge-shards`` are more commands here, each
calling its pipeline module (``publish``, ``handgrade``, ``shard``).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
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


def _require_data(args: argparse.Namespace, course: Course) -> None:
    """Stop before grading on synthetic data (no ``VAECOURSE_DATA``), unless allowed."""
    from .pipeline.data import ALLOW_SYNTHETIC_ENV, require_grading_data

    if getattr(args, "allow_synthetic_data", False):
        os.environ[ALLOW_SYNTHETIC_ENV] = "1"
    require_grading_data(course)


def cmd_release(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.release import release

    for path in release(course, _assignments(course, args.assignments)):
        print(f"released {path.relative_to(course.root) if path.is_relative_to(course.root) else path}")
    return 0


def cmd_check_release(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.release import release_differences

    problems = [p for a in _assignments(course, args.assignments) for p in release_differences(course, a)]
    print("\n".join(problems) if problems else "notebooks/ are up to date")
    return 1 if problems else 0


def cmd_samples(args: argparse.Namespace, course: Course) -> int:
    _require_data(args, course)
    from .proofs.verify import format_run, run_samples

    run = run_samples(course, _assignments(course, args.assignments), jobs=args.jobs, pack=args.pack)
    print(format_run(run, verbose=not args.quiet))
    return 0 if run.ok else 1


def cmd_collect(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.collect import collect
    from .pipeline.grade import prepare_gradebook
    from .pipeline.report import format_collect

    assignments = _assignments(course, args.assignments)
    prepare_gradebook(course, assignments)
    print(format_collect(collect(course, args.path, assignments, only=args.assignment)))
    return 0


def cmd_autograde(args: argparse.Namespace, course: Course) -> int:
    _require_data(args, course)
    from .pipeline.grade import prepare_gradebook
    from .pipeline.report import format_events
    from .pipeline.run import run_autograde

    assignments = _assignments(course, args.assignments)
    if args.shard:
        from .pipeline.grade import safe_url
        from .pipeline.shard import parse_shard, run_shard

        try:
            k, n = parse_shard(args.shard)
        except ValueError as e:
            raise SystemExit(str(e)) from None
        shard = run_shard(course, assignments, k, n, jobs=args.jobs)
        results = shard.results
        where = safe_url(course.db_url) if course.database_url else shard.course.db_path
        print(f"shard {k}/{n}: autograded {len(results)} notebooks of "
              f"{len({s for _, s in shard.pairs})} students into {where}")  # fmt: skip
    else:
        prepare_gradebook(course, assignments)
        results = run_autograde(course, assignments, jobs=args.jobs)
        print(f"autograded {len(results)} notebooks")
    _print_events(format_events(results))
    return 0


def cmd_merge_shards(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.grade import safe_url
    from .pipeline.shard import merge_shards, shard_gradebooks, unfinished_shards

    if course.database_url and not args.dbs:  # the shards wrote into the shared gradebook
        problems = unfinished_shards(course)
        if problems and not args.partial:
            raise SystemExit("the sharded run is not complete: " + "; ".join(problems))
        print(f"nothing to merge: the shards graded into the shared gradebook {safe_url(course.db_url)}")
        return 0
    dbs = args.dbs or shard_gradebooks(course)
    if not dbs:
        raise SystemExit(f"no shard gradebooks given or found under {course.work / 'shards'}")
    try:
        report = merge_shards(course, dbs, allow_partial=args.partial)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    print(f"merged {report.submissions} submissions ({report.grades} grades, {report.comments} comments) "
          f"from {len(report.sources)} shard gradebooks into {safe_url(course.db_url)}")  # fmt: skip
    return 0


def _print_events(events: str) -> None:
    if events:
        print("grading events:\n" + events)


def cmd_feedback(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.handgrade import ungraded, ungraded_warning
    from .pipeline.run import feedback

    assignments = _assignments(course, args.assignments)
    if args.shard:
        from .pipeline.shard import feedback_shard, parse_shard

        try:
            k, n = parse_shard(args.shard)
            graded, files = feedback_shard(course, assignments, k, n)
        except ValueError as e:
            raise SystemExit(str(e)) from None
    else:
        graded = course
        files = feedback(course, assignments)
    warning = ungraded_warning(ungraded(graded, assignments))
    if warning:
        print(warning, file=sys.stderr)
    print(f"{len(files)} feedback files under {course.feedback}")
    return 0


def cmd_export(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.deliver import DeliveryError, format_packages, write_feedback_packages
    from .pipeline.export import RosterError, UngradedError, export_result, format_export
    from .pipeline.report import format_table, score_table

    try:
        result = export_result(course, args.to, args.format, force=args.force, roster=args.roster)
    except (UngradedError, RosterError) as err:
        print(err, file=sys.stderr)
        return 1
    assignments = _assignments(course, [])
    print(format_table(score_table(course, assignments), assignments))
    print(format_export(result))
    if args.feedback_zip is not None:
        try:
            packed = write_feedback_packages(course, assignments, args.feedback_zip or None)
        except DeliveryError as err:
            print(err, file=sys.stderr)
            return 1
        print(format_packages(packed))
    return 0


def cmd_report(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.classreport import ReportError, write_class_report

    try:
        report = write_class_report(course, _assignments(course, args.assignments), args.to,
                                    threshold=args.threshold)  # fmt: skip
    except ReportError as err:
        print(err, file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def cmd_status(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.handgrade import format_status, status

    print(format_status(status(course, _assignments(course, args.assignments))))
    return 0


def cmd_formgrader(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.handgrade import serve_formgrader

    serve_formgrader(course, _assignments(course, []), ip=args.ip, port=args.port, token=args.token,
                     open_browser=not args.no_browser)  # fmt: skip
    return 0


def cmd_all(args: argparse.Namespace, course: Course) -> int:
    _require_data(args, course)
    from .pipeline.report import format_collect, format_events, format_table, score_table
    from .pipeline.run import grade_class

    assignments = _assignments(course, args.assignments)
    run = grade_class(course, args.path, assignments, jobs=args.jobs, only=args.assignment, to=args.to,
                      on_collected=lambda report: print(format_collect(report), flush=True),
                      force=args.force)  # fmt: skip
    _print_events(format_events(run.results))
    names = run.collect.names
    print(format_table(score_table(course, assignments), assignments,
                       labels=names and {s: f"{n} ({s})" for s, n in names.items()}))  # fmt: skip
    waiting = ", ".join(f"{a}: {n}" for a, n in run.ungraded.items())
    if run.grades is None:
        print(f"Autograded scores above. Written answers wait for hand grading ({waiting}): run "
              "python -m autograder formgrader, grade them, then python -m autograder feedback and "
              "python -m autograder export (no feedback or grades written yet; --force writes them now).")
        return 0
    if waiting:
        print(f"WARNING: --force: written answers not graded by hand ({waiting}) count as zero.")
    print(f"wrote {run.grades}; feedback under {course.feedback}")
    return 0


def cmd_demo(args: argparse.Namespace, course: Course) -> int:
    _require_data(args, course)
    from .proofs.demo import format_demo, run_demo

    result = run_demo(course, _assignments(course, args.assignments), jobs=args.jobs,
                      target=args.target, pack=not args.no_pack)  # fmt: skip
    print(format_demo(result))
    return 0 if result.ok else 1


def cmd_student_helpers(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.student_build import build_student_helpers

    out, stripped = build_student_helpers(course.root / "helpers", args.out, keep=set(args.keep))
    print(f"wrote {out} with {len(stripped)} fill-ins replaced by NotImplementedError: {', '.join(stripped)}")
    return 0


def cmd_audit(args: argparse.Namespace, course: Course) -> int:
    from .proofs.audit import audit

    _require_data(args, course)
    bad = 0
    for assignment in args.assignments or course.assignments():
        report = audit(course, assignment, only=args.only or None)
        print(report.format(), flush=True)
        bad += not report.ok
    return 1 if bad else 0


def cmd_publish(args: argparse.Namespace, course: Course) -> int:
    from datetime import datetime

    from .pipeline.publish import publish

    when = datetime.fromisoformat(args.at) if args.at else None
    if when is not None and when.tzinfo is None:
        raise SystemExit(f"--at {args.at}: give a UTC offset, e.g. 2026-09-22T00:00:00-04:00")
    try:
        done = publish(course, args.out, when=when, force=args.force)
    except (FileExistsError, ValueError) as err:
        raise SystemExit(str(err)) from None
    print(f"published vaecourse {done.version} for tag {done.ref} into {done.out}: "
          f"{len(done.notebooks)} notebooks, helpers/ with {len(done.stripped)} fill-ins and answers stripped"
          + (f" (past due, kept: {', '.join(done.kept)})" if done.kept else ""))  # fmt: skip
    if done.waiting:
        from .pipeline.student_build import release_date

        for a in done.waiting:
            print(f"not yet published: {a} (it builds on answers published after {release_date(course, a)}; "
                  "publish again then)")
    print(f"next: push {done.out} to {course.config.repository} and tag it {done.ref}")
    return 0


def cmd_data(args: argparse.Namespace, course: Course) -> int:
    from .pipeline.data import DataError, write_data_folder

    try:
        sums = write_data_folder(args.out, mirror=args.mirror)
    except DataError as err:
        raise SystemExit(str(err)) from None
    print("\n".join(f"{h}  {n}" for n, h in sums.items()))
    print(f"wrote {args.out} (checksums in SHA256SUMS); grade with VAECOURSE_DATA={args.out}")
    return 0


#: the commands that read or write the gradebook (checked first when it is a database server)
GRADEBOOK_COMMANDS = (cmd_collect, cmd_autograde, cmd_merge_shards, cmd_feedback, cmd_export, cmd_status,
                      cmd_formgrader, cmd_all)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Release, collect, autograde, return and verify the VAE course "
        "assignments with nbgrader.",
    )
    parser.add_argument("--course-dir", type=Path, help="working folder (default autograder/course)")
    parser.add_argument("--db-url", help="gradebook database URL, e.g. postgresql://user@host/vae "
                        "(default: sqlite <course>/gradebook.db; env VAECOURSE_DB_URL)")  # fmt: skip
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
    p.add_argument("--pack", action="store_true", help="grade compatible samples together (faster)")
    p.set_defaults(func=cmd_samples)

    def add_path(p: argparse.ArgumentParser) -> None:
        p.add_argument("path", type=Path, help="folder or .zip of course-site downloads")
        p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
        p.add_argument("--assignment", help="send every file to this assignment, whatever its name")

    p = sub.add_parser("collect", help="import downloads (nbgrader zip_collect) and repair them")
    add_path(p)
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("autograde", help="autograde every collected submission (nbgrader autograde)")
    p.add_argument("assignments", nargs="*")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--shard", metavar="k/N", help="grade only the k-th of N disjoint shares of the "
                   "students (1 <= k <= N), into <course>/shards/k-of-N/ or the --db-url database")  # fmt: skip
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("merge-shards", help="merge the shards' gradebooks into the course's gradebook")
    p.add_argument("dbs", nargs="*", help="shard gradebooks (files or URLs; default: <course>/shards/*/gradebook.db)")
    p.add_argument("--partial", action="store_true", help="merge even when shards are missing")
    p.set_defaults(func=cmd_merge_shards)

    p = sub.add_parser("feedback", help="feedback HTML (nbgrader generate_feedback)")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--shard", metavar="k/N", help="only the students of shard k of N (as autograde --shard), "
                   "from the shared database or that shard's own gradebook")  # fmt: skip
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="export the grades for an LMS (canvas, generic) or nbgrader's CSV")
    p.add_argument("--format", choices=("canvas", "generic", "nbgrader"), default="canvas",
                   help="canvas: Canvas gradebook import CSV (default); generic: one row per student, "
                        "one column per assignment; nbgrader: nbgrader's long CSV")  # fmt: skip
    p.add_argument("--to", type=Path, help="CSV file (default <course>/reports/grades-<format>.csv; "
                                           "nbgrader: reports/grades.csv)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="export although written answers are ungraded (as zero)")
    p.add_argument("--roster", type=Path, help="roster CSV for names and SIS ids (the gradebook CSV Canvas "
                   "exports, or student_id,last_name,first_name)")  # fmt: skip
    p.add_argument("--feedback-zip", nargs="?", const="", type=str, metavar="DIR",
                   help="also pack the feedback HTML: canvas-<assignment>.zip for Canvas's Re-upload "
                        "submissions and by-student/<id>/<assignment>.html (default DIR: "
                        "<course>/reports/feedback-upload)")  # fmt: skip
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="the class report (HTML with plots): scores, tests, mistakes, "
                       "ungraded answers, late work, similar code")  # fmt: skip
    p.add_argument("assignments", nargs="*")
    p.add_argument("--to", type=Path, help="HTML file (default <course>/reports/class-report.html)")
    p.add_argument("--threshold", type=float, default=None,
                   help="similarity (0-1) from which a pair is listed for a human look (default 0.6)")  # fmt: skip
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("status", help="per assignment: submissions, written answers still ungraded")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("formgrader", help="open nbgrader's formgrader on this course (Jupyter server)")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: Jupyter's, 8888 or the next free)")
    p.add_argument("--token", help="access token (default: a random one, printed)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(func=cmd_formgrader)

    p = sub.add_parser("all", help="collect and autograde; feedback and export once nothing waits for hand grading")
    add_path(p)
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--to", type=Path)
    p.add_argument("--force", action="store_true",
                   help="write feedback and grades now, ungraded written answers as zero")  # fmt: skip
    p.set_defaults(func=cmd_all)

    p = sub.add_parser("demo", help="grade the sample, damaged and adversarial submissions end to end")
    p.add_argument("assignments", nargs="*")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--target", help="assignment for the damaged/adversarial cases")
    p.add_argument("--no-pack", action="store_true", help="one student per sample (slower)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("student-helpers", help="a copy of helpers/ without the fill-in answers")
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--keep", action="append", default=[], help="fill-in name to keep (already graded)")
    p.set_defaults(func=cmd_student_helpers)

    p = sub.add_parser("audit", help="try everything students are given as the answer of every graded "
                       "code cell; exit 1 when something passes a cell's tests")  # fmt: skip
    p.add_argument("assignments", nargs="*")
    p.add_argument("--only", action="append", default=[], help="audit only this fill-in (grade id)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("publish", help="the student distribution: releases, student build of helpers/, README")
    p.add_argument("out", type=Path, help="output folder (empty, or a clone of the public repository)")
    p.add_argument("--force", action="store_true", help="replace what OUT holds (its .git is kept)")
    p.add_argument("--at", help="decide due dates as of this date-time (default: now), e.g. 2026-09-22T00:00-04:00")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("data", help="write the grading data folder (MNIST, CIFAR-10, CelebA) from the public sources")
    p.add_argument("out", type=Path, help="the data folder (then set VAECOURSE_DATA to it)")
    p.add_argument("--mirror", help="fetch every file as MIRROR/<file name> instead of from its publisher")
    p.set_defaults(func=cmd_data)

    for name in ("samples", "autograde", "all", "demo", "audit"):
        sub.choices[name].add_argument(
            "--allow-synthetic-data", action="store_true",
            help="grade without VAECOURSE_DATA on small synthetic data (tests only)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    _env()
    args = build_parser().parse_args(argv)
    course = Course.default()
    if args.course_dir:
        course = course.with_work(args.course_dir)
    if args.db_url:
        course = replace(course, database_url=args.db_url)
    os.environ.setdefault("VAECOURSE_PROFILE", GRADING_PROFILE)
    from .pipeline.grade import GradebookUnavailable, require_gradebook

    try:
        if course.database_url and args.func in GRADEBOOK_COMMANDS:
            require_gradebook(course)
        return int(args.func(args, course) or 0)
    except GradebookUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
