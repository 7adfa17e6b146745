"""Grading a class on several machines: shards of students, and merging their gradebooks.

``python -m autograder autograde --shard k/N`` grades the k-th (1 <= k <= N) of N disjoint
shares of the collected submissions (:func:`autograder.pipeline.run.submitted_pairs`).
Shares are made of whole students, in the sorted order of their ids (student ``i`` goes to
shard ``i mod N``), so every shard that sees the same ``submitted/`` folder picks the same
share, a student's whole series is graded on one machine, and shards differ by at most one
student. Nothing is queued or locked: a Slurm job array or a Kubernetes indexed Job runs
the N commands (see the autograder README's cluster recipe).

Two ways to collect the grades:

* **a gradebook per shard** (the default): shard ``k-of-N`` writes its own SQLite gradebook,
  scratch release and reports under ``<work>/shards/k-of-N/`` (:attr:`Course.shard`), with
  a manifest (``shard.json``: which pairs, out of which list). ``python -m autograder
  merge-shards`` (:func:`merge_shards`) copies every graded submission, its grades and
  comments into the course's gradebook, after checking that the shards belong together
  (same submissions, same N, none missing, none twice);
* **one shared database** (``--db-url postgresql://...`` or ``VAECOURSE_DB_URL``,
  nbgrader's ``CourseDirectory.db_url``): every shard writes into the same server; nothing
  to merge. Build the gradebook once (``collect``) before the shards start; ``merge-shards``
  then only checks that every shard finished (:func:`unfinished_shards`).

A shard's manifest is written when it has finished, and removed when it starts: a shard that
was killed has none, so the merge (or its check) refuses until it has been run again.
Running a shard again grades its share again and records the same grades (idempotent).

:func:`gradebook_rows` lists a gradebook's grade, comment and submission rows without their
database ids: a merged gradebook and an unsharded one hold exactly the same rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course
from .grade import GradeResult, prepare_gradebook, require_gradebook, safe_url
from .run import feedback, run_autograde, submitted_pairs

LOG = logging.getLogger("autograder")
MANIFEST = "shard.json"
_SPEC = re.compile(r"^\s*(\d+)\s*(?:/|-of-)\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"k/N"`` (or ``"k-of-N"``) -> ``(k, N)``, 1 <= k <= N; a clear error otherwise."""
    match = _SPEC.match(text or "")
    if not match:
        raise ValueError(f"--shard must look like k/N (e.g. 2/8), not {text!r}")
    k, n = int(match[1]), int(match[2])
    if n < 1 or not 1 <= k <= n:
        raise ValueError(f"--shard {text}: k must be between 1 and N (Slurm: --array=1-N; "
                         "a Kubernetes indexed Job: k = JOB_COMPLETION_INDEX + 1)")  # fmt: skip
    return k, n


def shard_name(k: int, n: int) -> str:
    """The folder (and :attr:`Course.shard`) of shard ``k`` of ``n``."""
    return f"{k}-of-{n}"


def shard_pairs(pairs: Iterable[tuple[str, str]], k: int, n: int) -> list[tuple[str, str]]:
    """The ``(assignment, student)`` pairs of shard ``k`` of ``n``: whole students, round robin
    over their sorted ids. The N shards are disjoint and together hold every pair."""
    pairs = list(pairs)
    students = sorted({s for _, s in pairs})
    mine = {s for i, s in enumerate(students) if i % n == k - 1}
    return [p for p in pairs if p[1] in mine]


def fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """A short hash of the whole list of pairs (shards of one run must agree on it)."""
    text = "\n".join(f"{a}/{s}" for a, s in sorted(pairs))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class ShardRun:
    """What one shard did."""

    k: int
    n: int
    course: Course  # the shard's view of the course (its gradebook, reports)
    pairs: list[tuple[str, str]]
    results: list[GradeResult] = field(default_factory=list)


def run_shard(course: Course, assignments: list[str], k: int, n: int, jobs: int = 2) -> ShardRun:
    """Autograde shard ``k`` of ``n`` of the collected submissions with ``jobs`` workers.

    With the course's own SQLite gradebook, the shard builds a gradebook of its own under
    ``<work>/shards/k-of-N/`` (merge them with :func:`merge_shards`); with a database URL
    (:attr:`Course.database_url`, shared by all shards) it grades into that one, which must
    already know the assignments (``collect`` builds it).

    Raises:
        GradebookUnavailable: the database is unreachable (checked before anything is written)
            or went away while grading (no manifest is written: run the shard again).
    """
    require_gradebook(course)
    shard = course.with_shard(shard_name(k, n))
    every = submitted_pairs(course, assignments)
    mine = shard_pairs(every, k, n)
    shard.shard_dir.mkdir(parents=True, exist_ok=True)
    (shard.shard_dir / MANIFEST).unlink(missing_ok=True)  # written again once this run has finished
    if course.database_url:
        _require_assignments(shard, assignments)
    else:
        prepare_gradebook(shard, assignments)
    results = run_autograde(shard, assignments, jobs=jobs, pairs=mine) if mine else []
    manifest = {"k": k, "n": n, "assignments": assignments, "fingerprint": fingerprint(every),
                "total_pairs": len(every), "pairs": [list(p) for p in mine]}  # fmt: skip
    (shard.shard_dir / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return ShardRun(k, n, shard, mine, results)


def feedback_shard(course: Course, assignments: list[str], k: int, n: int) -> tuple[Course, list[Path]]:
    """The feedback of shard ``k`` of ``n``'s students (the share :func:`run_shard` grades),
    from the gradebook that holds their grades: the shared database (``--db-url``), or the
    shard's own SQLite gradebook (right after grading it, before ``merge-shards``). Returns
    the gradebook's course and the files written.

    Raises:
        ValueError: the shard has no gradebook (not graded yet).
    """
    require_gradebook(course)
    shard = course if course.database_url else course.with_shard(shard_name(k, n))
    if not shard.has_gradebook:
        raise ValueError(f"shard {k}/{n} has no gradebook at {shard.db_path}: grade it first "
                         f"(autograde --shard {k}/{n})")  # fmt: skip
    students = {s for _, s in shard_pairs(submitted_pairs(course, assignments), k, n)}
    return shard, feedback(shard, assignments, students)


def _require_assignments(course: Course, assignments: list[str]) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb:
        for assignment in assignments:
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                raise SystemExit(
                    f"The shared gradebook {safe_url(course.db_url)} does not know {assignment}: run "
                    "`python -m autograder collect` (it builds the gradebook) before the shards."
                ) from None


def unfinished_shards(course: Course) -> list[str]:
    """Problems with a sharded run into the shared database (``--db-url``): the manifests under
    ``<work>/shards/`` must be those of one run's N finished shards (empty when they are)."""
    manifests = sorted((course.work / "shards").glob(f"*/{MANIFEST}"))
    if not manifests:
        return [f"no finished shard under {course.work / 'shards'} (a shard writes its {MANIFEST} when it is done)"]
    return check_manifests([m.with_name(Path(course.db_path).name) for m in manifests])


def shard_gradebooks(course: Course) -> list[Path]:
    """The shards' SQLite gradebooks under ``<work>/shards/`` (what ``merge-shards`` merges
    when given none)."""
    return sorted((course.work / "shards").glob(f"*/{Path(course.db_path).name}"))


def _url(db: str | Path) -> str:
    text = str(db)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


@dataclass
class MergeReport:
    """What :func:`merge_shards` copied."""

    submissions: int = 0
    grades: int = 0
    comments: int = 0
    sources: list[str] = field(default_factory=list)


def check_manifests(dbs: list[str | Path]) -> list[str]:
    """Problems with the shards' manifests (``shard.json`` next to each SQLite file):
    different runs mixed, a shard missing or given twice. Empty when they belong together."""
    found = []
    for db in dbs:
        path = Path(str(db)) if "://" not in str(db) else None
        if path is not None and (path.parent / MANIFEST).is_file():
            found.append(json.loads((path.parent / MANIFEST).read_text()))
    if not found:
        return []
    problems = []
    runs = {(m["n"], m["fingerprint"]) for m in found}
    if len(runs) > 1:
        problems.append("the gradebooks come from different sharded runs (another N, or other "
                        "submissions): " + ", ".join(f"N={n} of {fp}" for n, fp in sorted(runs)))  # fmt: skip
    n = found[0]["n"]
    ks = sorted(m["k"] for m in found)
    if len(set(ks)) < len(ks):
        problems.append(f"a shard is given twice: {ks}")
    missing = sorted(set(range(1, n + 1)) - set(ks))
    if missing:
        problems.append(f"shards {', '.join(map(str, missing))} of {n} are missing")
    return problems


def merge_shards(course: Course, dbs: list[str | Path], *, allow_partial: bool = False) -> MergeReport:
    """Copy every submission of the shard gradebooks ``dbs`` (paths or URLs), with its
    grades, comments, timestamp, flags and late penalty, into the course's gradebook.

    The course's gradebook must know the assignments (``collect`` or
    :func:`autograder.pipeline.grade.prepare_gradebook` builds it); students keep the names
    collect recorded. A submission found in two of ``dbs`` is refused (overlapping shards),
    as is a grade cell the course's gradebook does not have (a shard graded another version
    of the assignment). Merging the same shards again changes nothing.

    Raises:
        ValueError: the shards do not belong together (unless ``allow_partial``), overlap,
            or do not match the course's gradebook.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from .grade import _quiet

    _quiet()
    problems = check_manifests(dbs)
    if problems and not allow_partial:
        raise ValueError("cannot merge: " + "; ".join(problems))
    seen: dict[tuple[str, str], str] = {}
    report = MergeReport()
    with Gradebook(course.db_url, course.course_id) as dst:
        for db in dbs:
            url = _url(db)
            if url == course.db_url or ("://" not in str(db) and Path(db).resolve() == course.db_path.resolve()):
                raise ValueError(f"{db} is the course's own gradebook")
            report.sources.append(str(db))
            with Gradebook(url, course.course_id) as src:
                for assignment in src.assignments:
                    try:
                        target = dst.find_assignment(assignment.name)
                    except MissingEntry:
                        raise ValueError(f"the course's gradebook does not know {assignment.name} "
                                         "(run collect or prepare it first)") from None  # fmt: skip
                    cells = {(nb.name, c.name): c.max_score for nb in target.notebooks for c in nb.grade_cells}
                    for submission in assignment.submissions:
                        key = (assignment.name, submission.student.id)
                        if key in seen:
                            raise ValueError(f"{key[1]}/{key[0]} is in {seen[key]} and in {db}: the shards overlap")
                        seen[key] = str(db)
                        _copy_submission(dst, submission, cells, str(db), report)
                    dst.db.commit()
    return report


def _copy_submission(dst, submission, cells: dict, where: str, report: MergeReport) -> None:  # noqa: ANN001
    """One submitted assignment of a shard into ``dst`` (nbgrader ``Gradebook``s)."""
    student = submission.student
    names = {k: getattr(student, k) for k in ("first_name", "last_name", "email", "lms_user_id")
             if getattr(student, k)}  # fmt: skip
    dst.update_or_create_student(student.id, **names)
    assignment = submission.assignment.name
    target = dst.update_or_create_submission(assignment, student.id, timestamp=submission.timestamp,
                                             extension=submission.extension)  # fmt: skip
    notebooks = {nb.name: nb for nb in target.notebooks}
    for nb in submission.notebooks:
        if nb.name not in notebooks:
            raise ValueError(f"{where}: notebook {nb.name} of {assignment} is unknown to the course's gradebook")
        into = notebooks[nb.name]
        into.flagged = nb.flagged
        into.late_submission_penalty = nb.late_submission_penalty
        grades = {g.name: g for g in into.grades}
        for g in nb.grades:
            if (nb.name, g.name) not in cells or g.name not in grades:
                raise ValueError(f"{where}: grade cell {g.name} of {assignment} is unknown to the course's "
                                 "gradebook (the shard graded another version of the assignment)")  # fmt: skip
            if float(cells[(nb.name, g.name)]) != float(g.max_score):
                raise ValueError(f"{where}: grade cell {g.name} of {assignment} has other points in the shard")
            t = grades[g.name]
            t.auto_score, t.manual_score = g.auto_score, g.manual_score
            t.extra_credit, t.needs_manual_grade = g.extra_credit, g.needs_manual_grade
            report.grades += 1
        comments = {c.name: c for c in into.comments}
        for c in nb.comments:
            if c.name in comments:
                comments[c.name].auto_comment, comments[c.name].manual_comment = c.auto_comment, c.manual_comment
                report.comments += 1
    report.submissions += 1


def gradebook_rows(db_url: str, course_id: str) -> list[tuple]:
    """Every submission, grade and comment row of a gradebook, without database ids, sorted:
    two gradebooks that grade alike give equal lists."""
    from nbgrader.api import Gradebook

    rows: list[tuple] = []
    with Gradebook(db_url, course_id) as gb:
        for student in gb.students:
            rows.append(("student", student.id, student.first_name, student.last_name, student.email))
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                who = (assignment.name, sub.student.id)
                rows.append(("submission", *who, str(sub.timestamp), str(sub.extension)))
                for nb in sub.notebooks:
                    rows.append(("notebook", *who, nb.name, nb.flagged, nb.late_submission_penalty))
                    for g in nb.grades:
                        rows.append(("grade", *who, nb.name, g.name, g.auto_score, g.manual_score,
                                     g.extra_credit, g.needs_manual_grade, g.max_score))  # fmt: skip
                    for c in nb.comments:
                        rows.append(("comment", *who, nb.name, c.name, c.auto_comment, c.manual_comment))
    return sorted(rows, key=repr)
