"""Sharded grading: disjoint, deterministic shares; three shard processes merge into exactly
the gradebook of the unsharded run (the test course's demo)."""

from __future__ import annotations

import json
import multiprocessing
import re
import shutil
from pathlib import Path

import pytest

from autograder import cli
from autograder.course import Course
from autograder.pipeline import shard
from autograder.pipeline.collect import collect
from autograder.pipeline.grade import prepare_gradebook
from autograder.pipeline.run import submitted_pairs

TOY = ["toy_vae", "toy_quiz"]


def test_parse_shard() -> None:
    assert shard.parse_shard("2/3") == (2, 3) and shard.parse_shard("1-of-1") == (1, 1)
    for bad in ("0/3", "4/3", "3", "a/b", ""):
        with pytest.raises(ValueError, match="k/N|between 1 and N"):
            shard.parse_shard(bad)
    with pytest.raises(SystemExit, match="between 1 and N"):
        cli.main(["autograde", "kl_theory", "--shard", "0/2"])


def test_shares_are_disjoint_complete_and_whole_students() -> None:
    pairs = [(a, f"s{i:02d}") for i in range(10) for a in ("mnist_vae", "kl_theory") if (i, a) != (3, "kl_theory")]
    shares = [shard.shard_pairs(pairs, k, 3) for k in (1, 2, 3)]
    assert sorted(p for s in shares for p in s) == sorted(pairs)  # complete, no pair twice
    owners = [{st for _, st in s} for s in shares]
    assert not (owners[0] & owners[1] or owners[0] & owners[2] or owners[1] & owners[2])  # whole students
    assert [len(o) for o in owners] == [4, 3, 3]
    assert shard.shard_pairs(list(reversed(pairs)), 2, 3) == list(reversed(shares[1]))  # order of input only
    assert shard.shard_pairs(pairs, 1, 1) == pairs


def test_manifests_must_belong_together(tmp_path: Path) -> None:
    dbs = []
    for k, fp in ((1, "a"), (2, "a"), (3, "b")):
        folder = tmp_path / f"{k}-of-3"
        folder.mkdir()
        (folder / shard.MANIFEST).write_text(json.dumps({"k": k, "n": 3, "fingerprint": fp}))
        dbs.append(folder / "gradebook.db")
    assert shard.check_manifests(dbs[:2]) == ["shards 3 of 3 are missing"]
    assert "different sharded runs" in shard.check_manifests(dbs)[0]
    assert "given twice" in shard.check_manifests([dbs[0], dbs[0], dbs[1]])[0]


def _grade_shard(course: Course, k: int, n: int, jobs: int = 1) -> None:
    shard.run_shard(course, TOY, k, n, jobs=jobs)


def collect_again(toy_demo, course: Course, keep: int = 6) -> set[tuple[str, str]]:
    """The demo's downloads collected into ``course`` (its gradebook built first), then only
    the first ``keep`` students' submissions left in ``submitted/`` (each notebook is a fresh
    sandboxed kernel: reference, blank, the packed samples, the first damaged cases); the
    rejected files (zeroed at collect) stay. Returns the pairs taken out."""
    prepare_gradebook(course, TOY)
    collect(course, toy_demo.work.work / "downloads.zip", TOY)
    kept = sorted({r.student for r in toy_demo.run.results})[:keep]
    slow = {(r.assignment, r.student) for r in toy_demo.run.results if r.student not in kept}
    for assignment, student in slow:
        shutil.rmtree(course.submitted / student / assignment)
    return slow


def expected_rows(toy_demo, slow: set[tuple[str, str]]) -> list[tuple]:
    """The unsharded demo's gradebook rows (:func:`shard.gradebook_rows`) without the pairs
    :func:`collect_again` took out: what a sharded run of the rest must hold, row for row."""
    rows = [r for r in shard.gradebook_rows(toy_demo.work.db_url, toy_demo.work.course_id)
            if r[0] == "student" or (r[1], r[2]) not in slow]  # fmt: skip
    assert sum(r[0] == "grade" for r in rows) > 40
    return rows


def page_scores(feedback_html: Path) -> list[str]:
    """The scores a feedback page shows (the whole notebook's, then each grade cell's). The
    rest differs between two runs by design: hidden tests draw fresh random inputs."""
    return re.findall(r"\(Score: [0-9.]+ / [0-9.]+\)", feedback_html.read_text())


def shard_feedback_equals_the_unsharded(toy_demo, course: Course, n: int = 3) -> None:
    """``feedback --shard k/N`` for every k: together every graded submission's page, each
    with the scores of the unsharded run's page."""
    pages = [f for k in range(1, n + 1) for f in shard.feedback_shard(course, TOY, k, n)[1]]
    graded = {(a, s) for a, s in submitted_pairs(course, TOY)}
    assert sorted((f.parent.name, f.parent.parent.name) for f in pages) == sorted(graded)
    for f in pages:
        twin = toy_demo.work.feedback / f.relative_to(course.feedback)
        assert page_scores(f) == page_scores(twin) and page_scores(f), f


def run_shards(course: Course, n: int = 3, jobs: int = 1) -> None:
    """``n`` shard processes (spawned, as on n machines) at once; each must exit 0."""
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_grade_shard, args=(course, k, n, jobs)) for k in range(1, n + 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert [w.exitcode for w in workers] == [0] * n


def test_three_shards_merge_into_the_unsharded_gradebook(toy_demo, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The demo's downloads collected again, graded as 3 shards in 3 processes, merged."""
    monkeypatch.setenv("VAECOURSE_CELL_TIMEOUT", "5")  # as in the unsharded demo run
    course = toy_demo.work.with_work(tmp_path / "class")
    slow = collect_again(toy_demo, course)
    run_shards(course)
    dbs = shard.shard_gradebooks(course)
    assert [p.parent.name for p in dbs] == ["1-of-3", "2-of-3", "3-of-3"]
    graded = [tuple(p) for db in dbs for p in json.loads((db.parent / shard.MANIFEST).read_text())["pairs"]]
    assert len(graded) == len(set(graded)) == len(toy_demo.run.results) - len(slow) >= 7
    shard_feedback_equals_the_unsharded(toy_demo, course)  # from each shard's own gradebook
    with pytest.raises(ValueError, match="missing"):
        shard.merge_shards(course, dbs[:2])
    shard.merge_shards(course, dbs)
    report = shard.merge_shards(course, dbs)  # merging again changes nothing
    assert report.submissions == len(graded)
    assert shard.gradebook_rows(course.db_url, course.course_id) == expected_rows(toy_demo, slow)
    with pytest.raises(ValueError, match="overlap"):
        shard.merge_shards(course, [dbs[0], shutil.copy(dbs[0], tmp_path / "again.db")], allow_partial=True)


def test_commands_and_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["--db-url", "postgresql://g@db/vae", "autograde", "-j", "2", "--shard", "3/8"])
    assert (args.func, args.shard, args.db_url) == (cli.cmd_autograde, "3/8", "postgresql://g@db/vae")
    assert parser.parse_args(["merge-shards", "a.db", "b.db"]).dbs == ["a.db", "b.db"]
    monkeypatch.setenv("VAECOURSE_DB_URL", "postgresql://g@db/vae")
    assert Course.default().db_url == "postgresql+psycopg://g@db/vae"  # the pinned driver
    monkeypatch.setenv("VAECOURSE_DB_URL", "postgresql+psycopg2://g@db/vae")
    assert Course.default().db_url == "postgresql+psycopg2://g@db/vae"
    monkeypatch.delenv("VAECOURSE_DB_URL")
    course = Course.default().with_work(tmp_path)
    one = course.with_shard(shard.shard_name(2, 3))
    assert one.db_path == tmp_path / "shards" / "2-of-3" / "gradebook.db"
    assert one.reports.parent == one.grading_release.parent == tmp_path / "shards" / "2-of-3"
    assert one.submitted == course.submitted and one.autograded == course.autograded
    with pytest.raises(SystemExit, match="no shard gradebooks"):
        cli.main(["--course-dir", str(tmp_path), "merge-shards"])
