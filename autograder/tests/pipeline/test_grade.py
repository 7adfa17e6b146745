"""The gradebook: built from the sources, filled by autograde workers, zeroed for rejects, read back."""

from __future__ import annotations

import pytest
from nbgrader.api import Gradebook

from autograder.course import Course
from autograder.pipeline.grade import (
    CellScore,
    _add_students,
    autograde,
    prepare_gradebook,
    scores,
    zero_out,
)
from autograder.pipeline.report import score_table
from autograder.proofs.build import (
    SampleCase,
    build_notebook,
    read_spec,
    release_of,
    write_submission,
)


def test_prepare_builds_scratch_releases_and_is_repeatable(toy_gradebook: Course) -> None:
    release = release_of(toy_gradebook, "toy_vae")
    assert any("raise NotImplementedError" in c.source for c in release.cells)
    assert not (toy_gradebook.release / "toy_vae").exists()  # the committed releases are untouched
    prepare_gradebook(toy_gradebook, ["toy_vae"])  # again: no error, same cells and points
    with Gradebook(toy_gradebook.db_url, toy_gradebook.course_id) as gb:
        cells = {c.name: c.max_score for c in gb.find_assignment("toy_vae").notebooks[0].grade_cells}
    assert cells == {"test_reparameterize": 2, "test_kl_divergence_prior": 1, "test_kl_divergence": 2,
                     "test_answer_q1": 1, "written_trick": 2}  # fmt: skip


def test_unknown_assignment_is_refused(toy_gradebook: Course) -> None:
    with pytest.raises(SystemExit, match="No source notebook"):
        prepare_gradebook(toy_gradebook, ["nope"])


def test_zero_out_gives_zero_on_every_autograded_cell(toy_gradebook: Course) -> None:
    zero_out(toy_gradebook, "toy_vae", "rejected_student", "the file is empty")
    cells = scores(toy_gradebook, "toy_vae")["rejected_student"]
    assert {g: (c.auto_score, c.max_score, c.manual) for g, c in cells.items()} == {
        "test_reparameterize": (0, 2, False), "test_kl_divergence_prior": (0, 1, False),
        "test_kl_divergence": (0, 2, False), "test_answer_q1": (0, 1, False), "written_trick": (0, 2, True),
    }  # fmt: skip
    assert score_table(toy_gradebook, ["toy_vae"])["rejected_student"] == {"toy_vae": (0.0, 6.0)}
    assert scores(toy_gradebook, "unknown") == {}


def test_autograde_scores_and_reports(toy_gradebook: Course) -> None:
    release = release_of(toy_gradebook, "toy_quiz")
    spec = read_spec(toy_gradebook, "toy_quiz")
    for student, answers in (("right", {}), ("wrong", {"answer_prior": 'ANSWER_PRIOR = "A"'})):
        write_submission(toy_gradebook, SampleCase(student, "toy_quiz", "", "", build_notebook(release, spec, answers), {}))
    seen = []
    results = autograde(toy_gradebook, [("toy_quiz", "right"), ("toy_quiz", "wrong")], jobs=1, progress=seen.append)
    assert [r.student for r in seen] == [r.student for r in results] == ["right", "wrong"]
    assert all(r.success and r.error == "" and r.restarts == 0 for r in results)
    assert all(r.seconds > 0 and r.cpu_seconds > 0 and r.kernel_peak_mb > 10 for r in results)
    table = scores(toy_gradebook, "toy_quiz")
    assert table["right"]["test_answer_prior"] == CellScore("test_answer_prior", 1.0, 1.0, False)
    assert table["wrong"]["test_answer_prior"].auto_score == 0


def test_two_workers_grade_one_students_two_assignments_at_once(toy_gradebook: Course) -> None:
    """The pool's workers (forked from the forkserver) grade one student's two notebooks side
    by side; the student is in the gradebook before they start (both would add it otherwise,
    and one would fail on the UNIQUE constraint)."""
    for assignment in ("toy_quiz", "toy_vae"):
        release, spec = release_of(toy_gradebook, assignment), read_spec(toy_gradebook, assignment)
        write_submission(toy_gradebook, SampleCase("both", assignment, "", "", build_notebook(release, spec, {}), {}))
    results = autograde(toy_gradebook, [("toy_quiz", "both"), ("toy_vae", "both")], jobs=2)
    assert sorted((r.assignment, r.success, r.error) for r in results) == [("toy_quiz", True, ""), ("toy_vae", True, "")]
    assert all(r.cpu_seconds > 0 and r.cells for r in results)
    for assignment in ("toy_quiz", "toy_vae"):
        cells = scores(toy_gradebook, assignment)["both"].values()
        assert all(c.auto_score == c.max_score for c in cells if not c.manual)
    _add_students(toy_gradebook, {"both", "another"})  # again, and a new one: no error
    with Gradebook(toy_gradebook.db_url, toy_gradebook.course_id) as gb:
        ids = [s.id for s in gb.students]
    assert ids.count("both") == 1 and "another" in ids
