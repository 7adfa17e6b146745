"""Repair of damaged submissions (no kernels): structure restored, no student text lost."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder.course import Course
from autograder.nb.cells import nbgrader_meta
from autograder.pipeline.release import generate
from autograder.pipeline.repair import repair
from autograder.proofs.build import build_notebook, read_spec


@pytest.fixture(scope="module")
def toy(toy_course: Course, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("release")
    releases = {a: nbformat.read(generate(toy_course, a, out), as_version=4) for a in ("toy_vae", "toy_quiz")}
    spec = read_spec(toy_course, "toy_vae")
    reference = {g: spec.reference_source(g) for g in spec.solutions}
    return releases, spec, reference


def _raw(nb) -> bytes:
    return nbformat.writes(nb).encode()


def _answers(nb) -> dict[str, tuple[str, str]]:
    return {nbgrader_meta(c)["grade_id"]: (c.cell_type, c.source) for c in nb.cells
            if nbgrader_meta(c).get("solution")}  # fmt: skip


def test_intact_submission_is_left_alone(toy) -> None:
    releases, spec, reference = toy
    nb = build_notebook(releases["toy_vae"], spec, {"reparameterize": "def reparameterize(a, b, c):\n    return a"})
    out, report = repair(_raw(nb), releases["toy_vae"], reference)
    assert report.status == "ok", report.notes
    assert _answers(out) == _answers(nb)
    assert [c.source for c in out.cells] == [c.source for c in nb.cells]


def test_lost_metadata_ids_and_old_minor_version(toy) -> None:
    releases, spec, reference = toy
    nb = build_notebook(releases["toy_vae"], spec, {"kl_divergence": "def kl_divergence(m, l):\n    return m"})
    data = json.loads(_raw(nb))
    data["nbformat_minor"] = 1
    for cell in data["cells"]:
        cell["metadata"] = {}
        cell.pop("id", None)
    out, report = repair(json.dumps(data).encode(), releases["toy_vae"], reference)
    assert report.status == "repaired"
    assert _answers(out) == _answers(nb)
    assert [c["id"] for c in out.cells][:3] == [c["id"] for c in releases["toy_vae"].cells][:3]
    assert (out.nbformat, out.nbformat_minor) == (4, 5)
    nbformat.validate(out)


def test_types_duplicates_deletions_insertions_and_order(toy) -> None:
    releases, spec, reference = toy
    nb = build_notebook(releases["toy_vae"], spec, {})
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in nb.cells}
    by_id["reparameterize"].cell_type = "markdown"  # code turned markdown
    by_id["reparameterize"].pop("outputs")
    by_id["reparameterize"].pop("execution_count")
    nb.cells.remove(by_id["test_kl_divergence"])  # deleted test
    dup = copy.deepcopy(by_id["test_answer_q1"])
    dup["id"] = "copy-of-test"
    nb.cells.append(dup)  # duplicated test, at the end
    nb.cells.insert(2, new_code_cell("def helper(x):\n    return 2 * x"))  # inserted
    nb.cells.insert(3, new_markdown_cell("my notes: sigma = exp(logvar / 2)"))
    kl = nb.cells.pop(nb.cells.index(by_id["kl_divergence"]))  # moved below everything
    nb.cells.append(kl)
    out, report = repair(_raw(nb), releases["toy_vae"], reference)
    notes = " | ".join(report.notes)
    for phrase in ("turned back into code", "test cell 'test_kl_divergence' was missing", "reordered", "kept"):
        assert phrase in notes, notes
    ids = [nbgrader_meta(c).get("grade_id") for c in out.cells if nbgrader_meta(c).get("grade_id")]
    assert ids == [nbgrader_meta(c)["grade_id"] for c in releases["toy_vae"].cells if nbgrader_meta(c).get("grade_id")]
    assert _answers(out)["reparameterize"][0] == "code"
    texts = [c.source for c in out.cells]
    assert "def helper(x):\n    return 2 * x" in texts and "my notes: sigma = exp(logvar / 2)" in texts
    # the inserted helper stays after the setup cell, before the fill-ins that may use it
    assert texts.index("def helper(x):\n    return 2 * x") < [nbgrader_meta(c).get("grade_id") for c in out.cells].index("reparameterize")


def test_no_student_text_is_ever_dropped(toy) -> None:
    releases, spec, reference = toy
    nb = build_notebook(releases["toy_vae"], spec, {"answer_q1": 'ANSWER_Q1 = "A"  # my guess'})
    for c in nb.cells:
        if nbgrader_meta(c).get("grade_id") == "test_reparameterize":
            c.source += "\nprint('I edited the test')"
        if c.cell_type == "markdown" and not nbgrader_meta(c):
            c.source += "\n\nMy answer written into the question cell."
    nb.cells.append(new_code_cell("x = 1  # scratch"))
    out, report = repair(_raw(nb), releases["toy_vae"], reference)
    release_texts = {c.source for c in releases["toy_vae"].cells}
    out_text = "\n".join(c.source for c in out.cells)
    for c in nb.cells:
        if c.source not in release_texts:
            assert c.source in out_text, c.source
    assert "edited" in " ".join(report.notes)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"%PDF-1.4\x00\xff\xfe", "not a notebook"),
        (b"{not json", "not valid JSON"),
        (b'{"hello": "world"}', "not a Jupyter notebook"),
        (b"[1, 2, 3]", "not a Jupyter notebook"),
    ],
)
def test_files_that_are_not_notebooks_are_rejected(toy, raw: bytes, reason: str) -> None:
    releases, _, reference = toy
    out, report = repair(raw, releases["toy_vae"], reference)
    assert report.status == "rejected" and reason in report.notes[0]
    assert [c.source for c in out.cells] == [c.source for c in releases["toy_vae"].cells]  # blank: zero


def test_another_assignments_notebook_is_rejected(toy) -> None:
    releases, _, reference = toy
    quiz = copy.deepcopy(releases["toy_quiz"])
    _, report = repair(_raw(quiz), releases["toy_vae"], reference, others={"toy_quiz": releases["toy_quiz"]})
    assert report.status == "rejected"
    assert "toy_quiz" in " ".join(report.notes)


def test_nbformat3_is_converted(toy) -> None:
    releases, spec, reference = toy
    nb = build_notebook(releases["toy_vae"], spec, {})
    old = nbformat.writes(nbformat.convert(copy.deepcopy(nb), 3), version=3).encode()
    out, report = repair(old, releases["toy_vae"], reference)
    assert report.status == "repaired" and "nbformat 3" in report.notes[0]
    assert _answers(out) == _answers(nb)


def test_a_republished_install_block_is_no_repair(toy) -> None:
    """After a re-publish (new tag in course.toml) the release's setup cell installs from
    another URL; a submission made from the previous release is intact, not "repaired"."""
    from dataclasses import replace

    from autograder.course import CourseConfig
    from autograder.pipeline.setup_cell import install_block, setup_cell_index

    releases, spec, reference = toy
    old_term, new_term = CourseConfig(ref="v2026.09"), replace(CourseConfig(), ref="v2026.12")
    release = copy.deepcopy(releases["toy_vae"])
    i = setup_cell_index(release)
    body = release.cells[i].source
    release.cells[i].source = install_block(new_term, "1.0") + "\n" + body
    submission = copy.deepcopy(release)
    submission.cells[i].source = install_block(old_term, "0.9") + "\n" + body
    out, report = repair(_raw(submission), release, reference)
    assert report.status == "ok", report.notes
    assert out.cells[i].source == release.cells[i].source  # the release's block is what runs
    # the same file re-saved without nbgrader metadata: found by its text all the same
    data = json.loads(_raw(submission))
    for cell in data["cells"]:
        cell["metadata"] = {}
    out, report = repair(json.dumps(data).encode(), release, reference)
    assert not any("had been edited" in n or "missing" in n for n in report.notes), report.notes
    # an edit outside the block is still an edit
    submission.cells[i].source = install_block(old_term, "0.9") + "\n" + body + "\nchecks = None"
    out, report = repair(_raw(submission), release, reference)
    assert report.status == "repaired" and any("'setup' had been edited" in n for n in report.notes)
