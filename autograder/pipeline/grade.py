"""The gradebook: build it, autograde submissions into it with parallel workers, read scores.

Everything goes through nbgrader: ``generate_assignment`` (from ``solutions/`` into a
scratch release folder, which fills the gradebook with the cells and points) and
``autograde`` per (student, assignment), each in a worker process. Workers share the
sqlite gradebook (it waits for its lock, see :attr:`Course.db_url`). A submission whose
autograde fails as a whole (it should not: :mod:`autograder.sandbox.execute` catches hangs
and crashes) gets zero on every cell and the reason in the report; the batch goes on.

Issue 16 (faster grading) works here and in the sandbox: the workers of :func:`autograde`
and the order of the pairs; ``autograde --shard k/N`` picks its pairs in
:mod:`autograder.pipeline.shard`.

A shared gradebook server (``--db-url postgresql://...``, issue 25) can be down, restart or
refuse connections: that is the machine's failure, never the student's. :func:`require_gradebook`
refuses to start without a reachable database (before anything is written); a notebook whose
grading fails while the server is unreachable is tried again after a pause, and if the server
stays away it is left ungraded (nothing recorded, no zero), the workers stop, and
:func:`run_autograde`'s callers get :class:`GradebookUnavailable`: run the same command again.

A run owns the cgroups of its workers' kernels
(:mod:`autograder.sandbox.cgroups`; each kernel gets cores / workers of CPU time) and removes
whatever is left of them at its end, also after a worker died.
"""

from __future__ import annotations

import importlib
import json
import logging
import multiprocessing
import multiprocessing.pool
import os
import resource
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..course import Course
from ..sandbox import cgroups
from ..sandbox.execute import SIDECAR_SUFFIX
from ..sandbox.kernel import stop_zygotes
from .settings import KERNEL_CPUS_ENV, KERNEL_THREADS_ENV, generate_assignment, nbgrader_api

LOG = logging.getLogger("autograder")
#: failures of the machine, not of the submission: autograde is tried again
INFRA_ERRORS = ("Kernel didn't respond", "Kernel died before replying to kernel_info", "database is locked",
                # two writers created the same row at once (PostgreSQL, SQLite): the retry finds it
                "duplicate key value violates unique constraint", "UNIQUE constraint failed",
                # the database server dropped the connection or restarted (nbgrader's own message)
                "There was an error accessing the nbgrader database", "OperationalError", "InterfaceError")  # fmt: skip
INFRA_RETRIES = 2
#: seconds to wait before grading a notebook again when the gradebook's server was unreachable
DATABASE_RETRY_PAUSE = 5.0
#: notebooks a worker process grades before it is replaced (bounds a leak in the grader)
WORKER_TASKS = 100
#: what every grading worker imports (nbgrader, nbconvert, jupyter_client, and IPython for the
#: kernel spec), imported once by the forkserver the workers are forked from
WORKER_PRELOAD = ("autograder.pipeline.grade", "nbgrader.apps", "nbgrader.converters.autograde",
                  "ipykernel.kernelspec")  # fmt: skip


@dataclass
class GradeResult:
    """The outcome of autograding one student's notebook of one assignment."""

    student: str
    assignment: str
    success: bool
    seconds: float
    cpu_seconds: float = 0.0
    error: str = ""
    events: list[dict] = field(default_factory=list)
    restarts: int = 0
    #: the kernel's peak resident memory (MiB; at least that of any finished kernel of this worker)
    kernel_peak_mb: float = 0.0
    #: seconds from the start of execution to the first code cell (kernel start-up)
    startup: float | None = None
    #: per code cell: index, grade_id, first source line, wall and kernel CPU seconds
    cells: list[dict] = field(default_factory=list)
    #: per kernel (restarts make several): its folder, cgroup, peak tasks, CPU seconds, what was killed
    kernels: list[dict] = field(default_factory=list)
    #: not graded because the gradebook's database server was unreachable (nothing recorded)
    database_down: bool = False


class GradebookUnavailable(RuntimeError):
    """The gradebook's database cannot be reached (a server that is down, a missing driver);
    the message says what was and was not recorded, and what to run."""


def safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<an invalid database URL>"


def gradebook_problem(course: Course) -> str:
    """Why the course's gradebook database cannot be reached now ('' when it can, and always
    for the SQLite file, which is created when first opened)."""
    if not course.database_url:
        return ""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    where = safe_url(course.database_url)
    try:
        url = make_url(course.database_url)
        args = {"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {}
        engine = create_engine(url, connect_args=args, poolclass=_null_pool())
    except ArgumentError as e:
        return f"{where} is not a database URL ({e}); e.g. postgresql://grader:PASSWORD@db.example.org/vae"
    except ImportError as e:
        return (f"the gradebook {where} needs a database driver that is not installed ({e.name}): "
                "pip install 'psycopg[binary]' for PostgreSQL (pinned in requirements.txt)")  # fmt: skip
    try:
        with engine.connect():
            return ""
    except SQLAlchemyError as e:
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()
        return f"cannot reach the gradebook database {where}: {reason[0] if reason else type(e).__name__}"
    finally:
        engine.dispose()


def _null_pool() -> type:
    from sqlalchemy.pool import NullPool

    return NullPool


def require_gradebook(course: Course) -> None:
    """Stop before anything is graded or written when the gradebook's database is unreachable.

    Raises:
        GradebookUnavailable: with the reason (server down, wrong URL, driver missing).
    """
    problem = gradebook_problem(course)
    if problem:
        raise GradebookUnavailable(f"{problem[0].upper()}{problem[1:]}. Start the database server or correct "
                                   "--db-url / VAECOURSE_DB_URL; nothing was graded or written.")  # fmt: skip


def grading_api(course: Course, assignment: str | None = None):  # -> nbgrader.apps.NbGraderAPI
    """nbgrader's API on the course's gradebook and scratch release; with ``assignment``, its
    kernels import that assignment's student build."""
    return nbgrader_api(course, release=course.grading_release, assignment=assignment)


def prepare_gradebook(course: Course, assignments: Iterable[str]) -> None:
    """Run ``nbgrader generate_assignment`` for each assignment into the scratch release.

    This (re)creates the assignments' cells and points in the gradebook (cheap; safe to
    repeat); it never touches the committed ``notebooks/``. It also builds, once per run, the
    student build of the helpers package each assignment is graded against
    (:func:`~autograder.pipeline.student_build.prepare_grading_builds`; skipped for a course
    without ``helpers/``).

    Raises:
        RuntimeError: with nbgrader's log when an assignment cannot be generated.
    """
    from .student_build import prepare_grading_builds

    require_gradebook(course)
    assignments = list(assignments)
    api = grading_api(course)
    for assignment in assignments:
        course.require(assignment)
        generate_assignment(api, assignment)
    if (course.root / "helpers" / "pyproject.toml").is_file():
        prepare_grading_builds(course, assignments)


def _grade_one(course: Course, assignment: str, student: str) -> GradeResult:
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    api = grading_api(course, assignment)
    down, attempt = "", 0
    while True:
        try:
            result = api.autograde(assignment, student, force=True, create=True)
        except Exception as e:  # noqa: BLE001 (a student's notebook must never stop the batch)
            result = {"success": False, "error": repr(e)}
        if result.get("success"):
            break
        # the server's state decides, not the message: a notebook cannot fake a database outage
        down = gradebook_problem(course) if course.database_url else ""
        if down and attempt < INFRA_RETRIES:
            LOG.warning("%s/%s: %s (attempt %d); trying again in %.0f s", student, assignment, down,
                        attempt + 1, DATABASE_RETRY_PAUSE)  # fmt: skip
            time.sleep(DATABASE_RETRY_PAUSE)
        elif down:
            break
        else:
            text = (result.get("error") or "") + (result.get("log") or "")
            if attempt >= INFRA_RETRIES or not any(m in text for m in INFRA_ERRORS):
                break
            why = next(m for m in INFRA_ERRORS if m in text)
            LOG.warning("%s/%s: the kernel or the gradebook failed (attempt %d: %s); retrying", student, assignment,
                        attempt + 1, why)  # fmt: skip
        attempt += 1
    outcome = GradeResult(
        student=student,
        assignment=assignment,
        success=bool(result.get("success")),
        seconds=time.perf_counter() - start,
        cpu_seconds=_cpu_seconds() - cpu0,
        error="" if result.get("success") else _short(result.get("error", "") + result.get("log", "")),
        kernel_peak_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        database_down=bool(down) and not result.get("success"),
    )
    if outcome.database_down:  # nbgrader removed its output; the gradebook has nothing of it
        outcome.error = f"not graded: {down}"
        return outcome
    sidecar = course.autograded / student / assignment / f"{assignment}{SIDECAR_SUFFIX}"
    if sidecar.is_file():
        info = json.loads(sidecar.read_text())
        outcome.events, outcome.restarts = info.get("events", []), info.get("restarts", 0)
        outcome.startup, outcome.cells = info.get("startup"), info.get("cells", [])
        outcome.kernels = info.get("kernels", [])
        outcome.kernel_peak_mb = max(outcome.kernel_peak_mb, info.get("kernel_peak_mb") or 0.0)
    if not outcome.success:
        zero_out(course, assignment, student, outcome.error)
    return outcome


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the kernels)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _short(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def zero_out(course: Course, assignment: str, student: str, reason: str) -> None:
    """Give zero on every cell of a submission nbgrader could not grade."""
    from nbgrader.api import Gradebook, MissingEntry

    _quiet()
    try:
        with Gradebook(course.db_url, course.course_id) as gb:
            gb.update_or_create_student(student)
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                submission = gb.add_submission(assignment, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            gb.db.commit()
    except Exception as e:  # noqa: BLE001 (report, never stop the batch)
        LOG.error("%s/%s: could not record the zero in the gradebook: %s", student, assignment, e)
        return
    LOG.warning("%s/%s gets zero: %s", student, assignment, reason[-300:])


def _quiet() -> None:
    """nbgrader's gradebook emits SQLAlchemy warnings about its own sessions: hide them."""
    import warnings

    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    logging.getLogger("traitlets").setLevel(logging.ERROR)


def _worker(args: tuple[Course, str, str]) -> GradeResult:
    _quiet()
    course, assignment, student = args
    return _grade_one(course, assignment, student)


def autograde(
    course: Course,
    pairs: Iterable[tuple[str, str]],
    jobs: int = 1,
    progress: Callable[[GradeResult], None] | None = None,
) -> list[GradeResult]:
    """Autograde ``(assignment, student)`` pairs with ``jobs`` worker processes.

    The gradebook must know the assignments (:func:`prepare_gradebook`). Results come back
    in completion order; ``progress`` is called with each. When the gradebook's server is
    unreachable, no more notebooks are started: the last result has ``database_down`` and the
    pairs never started have none (:func:`raise_if_database_down`).
    """
    work = [(course, a, s) for a, s in pairs]
    _add_students(course, {s for _, s in pairs})
    # VAECOURSE_KERNEL_THREADS=auto (the default): the workers' kernels share the cores, so
    # their thread pools are sized cores / workers (inherited by the workers, read by
    # settings.kernel_env); 0: the frameworks' own pools (a thread per core in every kernel,
    # which then spin waiting for each other: 1.2x the CPU with two workers on two cores)
    workers = max(1, min(jobs, len(work)))
    saved = {k: os.environ.get(k) for k in (KERNEL_THREADS_ENV, KERNEL_CPUS_ENV, cgroups.OWNER_ENV)}
    if (saved[KERNEL_THREADS_ENV] or "auto").strip().lower() == "auto":
        os.environ[KERNEL_THREADS_ENV] = str(max(1, (os.cpu_count() or 1) // workers))
    # each kernel's processes together get its worker's share of the CPU (a cgroup quota)
    os.environ.setdefault(KERNEL_CPUS_ENV, str((os.cpu_count() or 1) / workers))
    # the kernels' cgroups belong to this run: what a dead worker leaves is removed at the end
    owner = os.environ.setdefault(cgroups.OWNER_ENV, cgroups.owner_tag())
    try:
        return _autograde(work, jobs, progress)
    finally:
        if saved[cgroups.OWNER_ENV] is None:  # the outermost run: its kernels are all gone now
            cgroups.sweep(owner)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _add_students(course: Course, students: set[str]) -> None:
    """Put the students in the gradebook before the workers start: two workers grading one
    student's two assignments would otherwise both add the student (a UNIQUE constraint fails
    for one of them). One statement that skips students already there (``INSERT ... ON
    CONFLICT DO NOTHING``), so another process adding the same students at the same moment
    (another grading run on a shared database) is no error either, and a shard of thousands
    of students takes one round trip, not one commit each."""
    from nbgrader.api import Gradebook, Student

    if not students:
        return
    _quiet()
    with Gradebook(course.db_url, course.course_id) as gb:
        missing = sorted(students - {s.id for s in gb.students})
        dialect = gb.engine.dialect.name
        if not missing:
            return
        if dialect in ("postgresql", "sqlite"):
            insert = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
            rows = [{"id": s} for s in missing]
            gb.db.execute(insert(Student.__table__).values(rows).on_conflict_do_nothing(index_elements=["id"]))
            gb.db.commit()
        else:  # another database: nbgrader's own way, one student at a time
            for student in missing:
                gb.update_or_create_student(student)


def raise_if_database_down(course: Course, pairs: list[tuple[str, str]], results: list[GradeResult]) -> None:
    """Raise :class:`GradebookUnavailable` when grading stopped because the gradebook's server
    went away, saying what was recorded and what was not.

    Raises:
        GradebookUnavailable: some of ``pairs`` were not graded for that reason.
    """
    if not any(r.database_down for r in results):
        return
    graded = sum(not r.database_down for r in results)
    raise GradebookUnavailable(
        f"The gradebook database {safe_url(course.db_url)} went away during grading: {graded} of "
        f"{len(pairs)} notebooks were graded and recorded; the other {len(pairs) - graded} were not graded "
        "and no grade of theirs was recorded (no zeros). Start the database server and run the same command "
        "again: it grades every notebook again and records the same grades."
    )


def _autograde(
    work: list[tuple[Course, str, str]], jobs: int, progress: Callable[[GradeResult], None] | None
) -> list[GradeResult]:
    from tqdm.auto import tqdm

    results: list[GradeResult] = []
    bar = tqdm(total=len(work), desc="autograde", unit="nb", disable=None)
    try:
        if jobs <= 1 or len(work) <= 1:
            try:
                for result in map(_worker, work):
                    results.append(result)
                    bar.update()
                    if progress:
                        progress(result)
                    if result.database_down:
                        break
            finally:
                stop_zygotes()
        else:
            # the kernels' zygotes (frameworks imported once, autograder.sandbox.zygote) start
            # here, shared by the workers; close + join lets a worker stop any of its own
            _share_zygotes(work)
            pool = _pool(min(jobs, len(work)))
            try:
                for result in pool.imap_unordered(_worker, work, chunksize=1):
                    results.append(result)
                    bar.update()
                    if progress:
                        progress(result)
                    if result.database_down:  # the other workers fail the same way: stop them
                        break
                else:
                    pool.close()
                    pool.join()
            finally:
                pool.terminate()
                stop_zygotes()
    finally:
        bar.close()
    return results


def _pool(workers: int) -> multiprocessing.pool.Pool:
    """Worker processes forked from a forkserver that has imported the grader once
    (:data:`WORKER_PRELOAD`): a worker starts in milliseconds instead of importing nbgrader
    (3.6 CPU-s each). The forkserver is a fresh single-threaded process, started on the first
    pool and kept for this process's later pools; each worker takes on this process's current
    environment (the shared zygotes, the kernel thread setting), as a spawned one would."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return context.Pool(workers, initializer=_adopt_environment, initargs=(dict(os.environ),),
                        maxtasksperchild=WORKER_TASKS)  # fmt: skip


def _adopt_environment(environ: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(environ)


def _share_zygotes(work: list[tuple[Course, str, str]]) -> None:
    """Start, in this process, the zygotes the workers' kernels will ask for: one per framework
    group the assignments' notebooks import (one import of TensorFlow for the pool, not one
    per worker). A submission that imports something else gets its own zygote in its worker."""
    import nbformat

    from ..sandbox.execute import GuardedExecute, preload_for
    from ..sandbox.kernel import SandboxKernelManager, share_zygotes
    from .settings import nbgrader_config

    specs: list[tuple[tuple[str, ...], dict[str, str]]] = []
    first = {a: c for c, a, _ in reversed(work)}  # one course per assignment (there is one)
    for assignment, course in first.items():
        config = nbgrader_config(course, release=course.grading_release, assignment=assignment)
        km, execute = SandboxKernelManager(config=config), GuardedExecute(config=config)
        if not (km.sandbox and km.zygote):
            continue
        for path in sorted((course.grading_release / assignment).glob("*.ipynb")):
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception:  # noqa: BLE001,S112 (the worker reports a broken notebook)
                continue
            specs.append(((*km.base_preload, *preload_for(nb, execute.preload_groups)), km.kernel_env))
    share_zygotes(specs)


@dataclass
class CellScore:
    """One grade cell of one submission."""

    grade_id: str
    auto_score: float | None
    max_score: float
    manual: bool  # graded by hand (written answers)


def scores(course: Course, assignment: str) -> dict[str, dict[str, CellScore]]:
    """``{student: {grade_id: CellScore}}`` from the gradebook, for one assignment."""
    from nbgrader.api import Gradebook, MissingEntry

    table: dict[str, dict[str, CellScore]] = {}
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            return table
        manual_cells = {
            c.name for nb in found.notebooks for c in nb.grade_cells if c.cell_type == "markdown"
        }
        for submission in found.submissions:
            cells: dict[str, CellScore] = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = CellScore(
                        grade.name,
                        grade.auto_score,
                        float(grade.max_score),
                        grade.name in manual_cells,
                    )
            table[submission.student.id] = cells
    return table
