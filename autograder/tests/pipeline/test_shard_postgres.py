"""Sharded grading into one real PostgreSQL gradebook (``--db-url``), and what goes wrong.

A private PostgreSQL server (:mod:`autograder.tests.pgserver`: Debian's binaries, its own
cluster on 127.0.0.1, a throwaway role) holds the gradebook. The test course's demo
downloads are collected into it again and graded by three shard processes at once; the
gradebook must hold exactly the rows of the unsharded SQLite run (the comparison of
``test_shard``), feedback and the export must be those of that run. Then the failures:
writers that add the same students and write the same assignment's grade cells at once
(with the rate of grade rows per second the server took), a shard killed halfway and run
again, and the server down before and during a run (a clear message; no zero, no half a
grade). Skipped only where PostgreSQL's server binaries are missing (``.ci/run`` installs
them). Measured numbers go to ``out/postgres-test.json`` (``VAECOURSE_TEST_OUT`` moves it).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from autograder import cli
from autograder.course import Course
from autograder.pipeline import grade, shard
from autograder.pipeline.export import export
from autograder.pipeline.grade import GradebookUnavailable, prepare_gradebook
from autograder.pipeline.run import submitted_pairs

from .. import pgserver
from .test_shard import (
    TOY,
    collect_again,
    expected_rows,
    run_shards,
    shard_feedback_equals_the_unsharded,
)

REPO = Path(__file__).resolve().parents[3]
MEASURED: dict[str, dict] = {}


@pytest.fixture(scope="module")
def pg():
    why = pgserver.missing()
    if why:
        pytest.skip(why)
    with pgserver.postgres_server() as server:
        yield server
        if MEASURED:
            out = Path(os.environ.get("VAECOURSE_TEST_OUT") or REPO / "out")
            out.mkdir(parents=True, exist_ok=True)
            (out / "postgres-test.json").write_text(json.dumps(MEASURED, indent=1))


def _class(toy_demo, pg: pgserver.PostgresServer, tmp_path: Path, name: str) -> Course:
    """The test course with its working folder under ``tmp_path`` and a fresh database."""
    return replace(toy_demo.work.with_work(tmp_path / "class"), database_url=pg.create_database(name))


def _load(tmp_path: Path) -> str:
    return f"load {os.getloadavg()[0]:.1f}"


class _Connections:
    """Samples the server's connections to one database (pg_stat_activity) every 0.2 s, over
    one connection of its own, whose CPU is left out of :attr:`server_cpu`."""

    def __init__(self, pg: pgserver.PostgresServer, database: str) -> None:
        import psycopg

        self.pg, self.database, self.peak = pg, database, 0
        self._conn = psycopg.connect(host=str(pg.socket_dir), port=pg.port, user=pgserver.SYSTEM_USER,
                                     dbname="postgres", autocommit=True)  # fmt: skip
        self._backend = self._query("SELECT pg_backend_pid()")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _query(self, sql: str) -> int:
        with self._conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]

    def sessions(self) -> int:
        return self._query(f"SELECT sessions FROM pg_stat_database WHERE datname = '{self.database}'")

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            count = self._query(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{self.database}'")
            self.peak = max(self.peak, count)

    def __enter__(self) -> _Connections:
        self.start_sessions, self.start_cpu = self.sessions(), self.pg.cpu_seconds()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self._stop.set()
        self._thread.join(5)
        self.total = self.sessions() - self.start_sessions
        fields = Path(f"/proc/{self._backend}/stat").read_text().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        self._conn.close()
        time.sleep(0.5)  # the postmaster reaps the last backends
        self.server_cpu = self.pg.cpu_seconds() - self.start_cpu - own


def test_three_shards_into_postgres_equal_the_unsharded_run(toy_demo, pg, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """3 shard processes (2 workers each) at once into one PostgreSQL gradebook, then
    merge-shards (a completeness check here), feedback and export, as the README's recipe."""
    monkeypatch.setenv("VAECOURSE_CELL_TIMEOUT", "5")  # as in the unsharded demo run
    course = _class(toy_demo, pg, tmp_path, "three_shards")
    slow = collect_again(toy_demo, course)
    start = time.perf_counter()
    with _Connections(pg, "three_shards") as connections:
        run_shards(course, 3, jobs=2)
    wall = time.perf_counter() - start
    rows = shard.gradebook_rows(course.db_url, course.course_id)
    assert rows == expected_rows(toy_demo, slow)
    assert not list(course.work.glob("shards/*/gradebook.db"))  # nothing went to SQLite

    assert cli.main(["--db-url", course.db_url, "--course-dir", str(course.work), "merge-shards"]) == 0
    shard_feedback_equals_the_unsharded(toy_demo, course)  # feedback --shard k/3, from the database
    graded = {(a, s) for a, s in submitted_pairs(course, TOY)}
    ours = _csv_rows(export(course, tmp_path / "grades.csv"))
    theirs = _csv_rows(toy_demo.run.grades)
    kept = {s for _, s in graded} - {s for _, s in slow}
    assert {k: v for k, v in ours.items() if k[0] in kept} == {k: v for k, v in theirs.items() if k[0] in kept}
    notebooks = len(graded)
    grade_rows = sum(r[0] == "grade" for r in rows if (r[1], r[2]) in graded)
    MEASURED["three_shards"] = {
        "notebooks": notebooks, "grade_rows": grade_rows, "wall_s": round(wall, 2),
        "grade_rows_per_s": round(grade_rows / wall, 1),
        "connections_per_notebook": round(connections.total / notebooks, 1),
        "peak_connections": connections.peak, "server_cpu_s": round(connections.server_cpu, 2),
        "machine": _load(tmp_path),
    }  # fmt: skip
    print(MEASURED["three_shards"])


def _csv_rows(path: Path) -> dict[tuple[str, str], dict]:
    with open(path, newline="") as f:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}


# ---- concurrent writers ----------------------------------------------------------------
def _writer(course: Course, students: list[str], mine: list[str], barrier, out: Path) -> None:  # noqa: ANN001
    """What a shard does to the gradebook, as fast as it can: add the students (some of them
    also added by the other writers at the same moment), then for each of its own students a
    submission of every assignment, every grade cell scored and commented as nbgrader's
    SaveAutoGrades does, one commit per notebook."""
    from nbgrader.api import Gradebook

    grade._quiet()
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()
    grade._add_students(course, set(students))
    rows = 0
    with Gradebook(course.db_url, course.course_id) as gb:
        for student in mine:
            for assignment in TOY:
                submission = gb.update_or_create_submission(assignment, student)
                for nb in submission.notebooks:
                    for g in nb.grades:
                        g.auto_score = _score(student, g.name, g.max_score)
                        g.needs_manual_grade = False
                        rows += 1
                    for c in nb.comments:
                        c.auto_comment = f"{student} {c.name}"
                    gb.db.commit()
    out.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - start,
                               "cpu_seconds": time.process_time() - cpu}))


def _score(student: str, cell: str, max_score: float) -> float:
    return float((sum(map(ord, student + cell)) % 3) * max_score / 2)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_concurrent_writers_add_the_same_students_and_grade_one_assignment(toy_demo, pg, tmp_path: Path,
                                                                         backend: str) -> None:  # fmt: skip
    """Three writers at once (a barrier starts them together): the students they share are
    added once, every grade cell of the same assignments holds exactly what its writer wrote.
    The grade rows per second are recorded, PostgreSQL and SQLite (one file, a lock) alike."""
    from nbgrader.api import Gradebook

    course = toy_demo.work.with_work(tmp_path / "class")
    if backend == "postgresql":
        course = replace(course, database_url=pg.create_database("writers"))
    prepare_gradebook(course, TOY)
    server_cpu = pg.cpu_seconds()
    writers, per_writer = 3, 40
    students = [f"w{i:04d}" for i in range(writers * per_writer)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    outs = [tmp_path / f"writer{k}.json" for k in range(writers)]
    procs = [context.Process(target=_writer, args=(course, students, students[k::writers], barrier, outs[k]))
             for k in range(writers)]  # fmt: skip
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    wall = time.perf_counter() - start
    time.sleep(0.5)  # the postmaster reaps the writers' backends
    server_cpu = pg.cpu_seconds() - server_cpu
    assert [p.exitcode for p in procs] == [0] * writers
    with Gradebook(course.db_url, course.course_id) as gb:
        assert sorted(s.id for s in gb.students) == students  # each once
        found = 0
        for assignment in TOY:
            subs = gb.find_assignment(assignment).submissions
            assert sorted(s.student.id for s in subs) == students
            for sub in subs:
                for nb in sub.notebooks:
                    for g in nb.grades:
                        assert g.auto_score == _score(sub.student.id, g.name, g.max_score)
                        found += 1
                    assert all(c.auto_comment == f"{sub.student.id} {c.name}" for c in nb.comments)
    done = [json.loads(o.read_text()) for o in outs]
    assert sum(d["rows"] for d in done) == found > writers * per_writer
    MEASURED[f"writers_{backend}"] = {
        "writers": writers, "students": len(students), "grade_rows": found,
        "grade_rows_per_s": round(found / max(d["seconds"] for d in done), 1),
        "writers_cpu_s": round(sum(d["cpu_seconds"] for d in done), 2),
        "server_cpu_s": round(server_cpu, 2) if backend == "postgresql" else None,
        "wall_s_with_process_start": round(wall, 2), "machine": _load(tmp_path),
    }  # fmt: skip
    print(MEASURED[f"writers_{backend}"])


# ---- a shard killed, a server down ---------------------------------------------------
def _shard_in_own_group(course: Course, k: int, n: int, message: Path) -> None:
    """A shard in its own process group (as a scheduler's job step), 2 workers; a database
    outage's message goes to ``message`` and the exit code is 3, as the command's."""
    os.setsid()
    try:
        shard.run_shard(course, TOY, k, n, jobs=2)
    except GradebookUnavailable as e:
        message.write_text(str(e))
        raise SystemExit(3) from None


def _graded(course: Course) -> set[tuple[str, str]]:
    """Pairs with an autograded score in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        return {(a.name, s.student.id) for a in gb.assignments for s in a.submissions
                if any(g.auto_score is not None for nb in s.notebooks for g in nb.grades)}  # fmt: skip


def _start_and_wait_for_a_grade(course: Course, tmp_path: Path):  # -> (Process, message file)
    before = _graded(course)  # the rejected files, zeroed at collect
    message = tmp_path / "message.txt"
    process = multiprocessing.get_context("spawn").Process(target=_shard_in_own_group, args=(course, 1, 1, message))
    process.start()
    deadline = time.monotonic() + 240
    while not _graded(course) - before:
        assert process.is_alive() and time.monotonic() < deadline, "the shard ended before grading anything"
        time.sleep(0.2)
    return process, message


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_shard_killed_halfway_is_run_again(toy_demo, pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 of a shard's whole process group (a node lost, scancel) after its first grade:
    nothing of it keeps running, the run is reported unfinished, and the same shard run again
    gives exactly the unsharded gradebook."""
    monkeypatch.setenv("VAECOURSE_CELL_TIMEOUT", "5")
    course = _class(toy_demo, pg, tmp_path, "killed")
    slow = collect_again(toy_demo, course)
    process, _ = _start_and_wait_for_a_grade(course, tmp_path)
    tree = _descendants(process.pid) | {process.pid}
    os.killpg(process.pid, signal.SIGKILL)
    process.join(30)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in tree if _alive(p)], "processes of the killed shard are still running"
    every = set(submitted_pairs(course, TOY))
    assert _graded(course) & every < every  # killed halfway
    assert shard.unfinished_shards(course)  # no manifest: merge-shards refuses
    with pytest.raises(SystemExit, match="not complete: no finished shard"):
        cli.main(["--db-url", course.db_url, "--course-dir", str(course.work), "merge-shards"])
    shard.run_shard(course, TOY, 1, 1, jobs=2)
    assert shard.gradebook_rows(course.db_url, course.course_id) == expected_rows(toy_demo, slow)
    assert shard.unfinished_shards(course) == []


def test_a_database_that_is_down(toy_demo, pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    """Down before the shard starts: a clear message, nothing graded or written. Down while it
    grades: it stops, says what was recorded; no student got a zero or half a grade for it; run
    again once the server is back, the gradebook is exactly the unsharded one."""
    monkeypatch.setenv("VAECOURSE_CELL_TIMEOUT", "5")
    course = _class(toy_demo, pg, tmp_path, "down")
    slow = collect_again(toy_demo, course)
    before = shard.gradebook_rows(course.db_url, course.course_id)
    pg.stop()
    try:
        with pytest.raises(GradebookUnavailable) as caught:
            shard.run_shard(course, TOY, 1, 3, jobs=2)
        text = str(caught.value)
        assert "cannot reach the gradebook database" in text.lower() and f"127.0.0.1:{pg.port}" in text
        assert "nothing was graded or written" in text and pg.password not in text
        assert not (course.work / "shards").exists() and not course.autograded.exists()
        argv = ["--db-url", course.db_url, "--course-dir", str(course.work)]
        for command in (["feedback"], ["export"], ["merge-shards"], ["status"]):
            assert cli.main(argv + command) == 3
            err = capsys.readouterr().err
            assert "Cannot reach the gradebook database" in err and pg.password not in err
    finally:
        pg.start()
    assert shard.gradebook_rows(course.db_url, course.course_id) == before

    process, message = _start_and_wait_for_a_grade(course, tmp_path)
    pg.stop(mode="immediate")
    try:
        process.join(240)
        assert process.exitcode == 3, process.exitcode
    finally:
        pg.start()
    text = message.read_text()
    assert "went away during grading" in text and "run the same command again" in text, text
    assert shard.unfinished_shards(course)  # no manifest for the interrupted shard
    expected = expected_rows(toy_demo, slow)
    rows = shard.gradebook_rows(course.db_url, course.course_id)
    pairs = set(submitted_pairs(course, TOY))
    graded = ungraded = 0
    for pair in pairs:  # each submission: exactly its grades, or no score at all (never a zero)
        mine = [r for r in rows if r[0] == "grade" and (r[1], r[2]) == pair]
        if mine == [r for r in expected if r[0] == "grade" and (r[1], r[2]) == pair]:
            graded += 1
        else:
            assert all(r[5] is None for r in mine), (pair, mine)
            assert not (course.autograded / pair[1] / pair[0] / f"{pair[0]}.ipynb").exists()
            ungraded += 1
    assert graded and ungraded, (graded, ungraded)
    shard.run_shard(course, TOY, 1, 1, jobs=2)
    assert shard.gradebook_rows(course.db_url, course.course_id) == expected
