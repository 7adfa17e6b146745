"""Hand grading: the graders' cells and files, the guide, what is left to grade, the server's settings.

The autograded notebooks here are made by hand (the release with reference answers), so the
tests run without kernels; the whole path through nbgrader and a real browser is
``test_handgrade_browser.py``.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from autograder.course import Course
from autograder.pipeline import export as export_module
from autograder.pipeline import handgrade, run
from autograder.pipeline.graderonly import (
    GUIDE_SUFFIX,
    OWN_RUN_SUFFIX,
    RemoveGraderOnly,
    is_grader_only,
)
from autograder.pipeline.handgrade import (
    annotate,
    format_status,
    safe_notebook,
    status,
    ungraded,
    ungraded_warning,
    write_guide,
    written_cells,
)
from autograder.proofs.build import build_notebook, read_spec, release_of

from ..handgrade_class import ADA, ADA_ANSWER, OWN_NUMBER, ada_notebook


@pytest.fixture
def course(toy_gradebook: Course, tmp_path: Path) -> Course:
    """The test course with a fresh work folder: gradebook copied, no students."""
    from nbgrader.api import Gradebook

    course = toy_gradebook.with_work(tmp_path / "work")
    course.work.mkdir(parents=True)
    shutil.copy(toy_gradebook.db_path, course.db_path)
    with Gradebook(course.db_url, course.course_id) as gb:
        for student in list(gb.students):
            gb.remove_student(student.id)
    # the scratch release, for release_of()
    shutil.copytree(toy_gradebook.grading_release, course.grading_release)
    return course


def _autograded(course: Course, student: str, original: nbformat.NotebookNode | bytes | None) -> Path:
    """An autograded notebook (release + reference answers, no outputs) and the upload."""
    nb = build_notebook(release_of(course, "toy_vae"), read_spec(course, "toy_vae"), {"written_trick": ADA_ANSWER})
    path = course.autograded / student / "toy_vae" / "toy_vae.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    if original is not None:
        up = course.originals / student / "toy_vae" / "toy_vae.ipynb"
        up.parent.mkdir(parents=True)
        up.write_bytes(original if isinstance(original, bytes) else nbformat.writes(original).encode())
    return path


def test_written_cells_and_the_graders_guide(course: Course) -> None:
    (w,) = written_cells(course, "toy_vae")
    assert (w.grade_id, w.points) == ("written_trick", 2.0)
    assert "Why can gradients pass" in w.question and w.model_answer.startswith("Because z is a deterministic")
    assert "Rubric: 2 points" in w.model_answer and "BEGIN SOLUTION" not in w.model_answer
    assert written_cells(course, "toy_quiz") == []
    page = write_guide(course, "toy_vae").read_text()
    assert 'id="written_trick"' in page and "Rubric: 2 points for naming" in page and "(2 points)" in page


def test_annotate_puts_own_outputs_and_rubric_before_each_written_answer(course: Course) -> None:
    path = _autograded(course, ADA, ada_notebook(course))
    assert annotate(course, "toy_vae", ADA) and annotate(course, "toy_vae", ADA)  # twice: same result
    nb = nbformat.read(path, as_version=4)
    extra = [i for i, c in enumerate(nb.cells) if is_grader_only(c)]
    assert len(extra) == 1
    box, answer = nb.cells[extra[0]].source, nb.cells[extra[0] + 1]
    assert answer.metadata.nbgrader.grade_id == "written_trick"
    assert OWN_NUMBER in box and '<img src="data:image/png;base64,' in box and "Rubric: 2 points" in box
    assert f'href="toy_vae{OWN_RUN_SUFFIX}#written_trick"' in box and f'href="toy_vae{GUIDE_SUFFIX}' in box
    folder = path.parent
    own = (folder / f"toy_vae{OWN_RUN_SUFFIX}").read_text()
    assert OWN_NUMBER in own and 'id="written_trick"' in own and ADA_ANSWER[:30] in own
    assert "Rubric" in (folder / f"toy_vae{GUIDE_SUFFIX}").read_text()
    # feedback drops the graders' cell; nbgrader leaves the graders' files out (settings)
    cleaned, _ = RemoveGraderOnly().preprocess(nb, {})
    assert not any(is_grader_only(c) for c in cleaned.cells) and len(cleaned.cells) == len(nb.cells)


def test_annotate_copes_with_a_broken_or_missing_upload(course: Course) -> None:
    path = _autograded(course, "s9", b"this is not a notebook")
    assert annotate(course, "toy_vae", "s9")
    box = next(c.source for c in nbformat.read(path, as_version=4).cells if is_grader_only(c))
    assert "could not be read" in box and "Rubric: 2 points" in box
    assert "could not be read" in (path.parent / f"toy_vae{OWN_RUN_SUFFIX}").read_text()
    assert not annotate(course, "toy_vae", "nobody")  # nothing autograded: nothing to do


def test_the_students_run_cannot_script_the_graders_browser(course: Course) -> None:
    nb = ada_notebook(course)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("Hi <script>alert('md')</script> **bold**"))
    code = nbformat.v4.new_code_cell("show()")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<script>alert('out')</script>",
                                                     "text/plain": "<table>"}),  # fmt: skip
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert('js')"}),
        nbformat.v4.new_output("display_data", data={"image/png": "not base64 <script>"}),
    ]
    nb.cells.insert(2, code)
    nb.cells.append(nbformat.v4.new_raw_cell("<script>alert('raw')</script>"))
    safe = safe_notebook(nb)
    assert safe.cells[1].source.startswith("Hi &lt;script>") and "**bold**" in safe.cells[1].source
    assert [o["data"] for o in safe.cells[2].outputs] == [{"text/plain": "<table>"}, {"image/png": "not base64 <script>"}]
    assert all(c.cell_type != "raw" for c in safe.cells)
    path = _autograded(course, ADA, nb)
    annotate(course, "toy_vae", ADA)
    own = (path.parent / f"toy_vae{OWN_RUN_SUFFIX}").read_text()
    for attack in ("alert('md')</script>", "<script>alert('out')", "alert('js')", "alert('raw')"):
        assert attack not in own
    box = next(c.source for c in nbformat.read(path, as_version=4).cells if is_grader_only(c))
    assert "<script" not in box and "not base64" not in box  # a bad image is left out


def _submit(course: Course, student: str, written: float | None, blank: bool = False) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        gb.update_or_create_student(student)
        sub = gb.add_submission("toy_vae", student)
        for nb in sub.notebooks:
            for g in nb.grades:
                if g.name == "written_trick":
                    g.manual_score = written
                    g.auto_score = 0.0 if blank else None
                    g.needs_manual_grade = written is None and not blank
                else:
                    g.auto_score, g.needs_manual_grade = 0.0, False
        gb.db.commit()


def test_status_counts_the_written_answers_left(course: Course) -> None:
    assert ungraded(course, ["toy_vae", "toy_quiz"]) == {}
    _submit(course, "a", None)
    _submit(course, "b", None)
    _submit(course, "c", 2.0)
    _submit(course, "d", None, blank=True)  # the stub left as is: zero by nbgrader, nothing to grade
    rows = {r.assignment: r for r in status(course, ["toy_vae", "toy_quiz"])}
    assert (rows["toy_vae"].submissions, rows["toy_vae"].written, rows["toy_vae"].ungraded_count) == (4, 4, 2)
    assert rows["toy_vae"].ungraded == {"a": ["written_trick"], "b": ["written_trick"]}
    assert rows["toy_quiz"].submissions == 0
    text = format_status(list(rows.values()))
    assert "2 written answers wait for a grader" in text and "formgrader" in text
    assert ungraded(course, ["toy_vae", "toy_quiz"]) == {"toy_vae": 2}
    assert "toy_vae: 2" in ungraded_warning({"toy_vae": 2}) and ungraded_warning({}) == ""
    empty = course.with_work(course.work / "nothing-yet")
    assert [r.submissions for r in status(empty, ["toy_vae"])] == [0]  # no gradebook yet: no crash


def test_feedback_warns_and_export_refuses(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(handgrade, "ungraded", lambda c, a: {"kl_theory": 3})
    monkeypatch.setattr(run, "feedback", lambda c, a: [])
    assert cli.main(["feedback", "kl_theory"]) == 0
    err = capsys.readouterr().err
    assert "WARNING" in err and "kl_theory: 3" in err and "formgrader" in err

    def refuse(course, to, fmt, force, roster=None):  # noqa: ANN001, ANN202
        assert (fmt, force) == ("canvas", False)
        raise export_module.UngradedError("Export refused: written answers not graded by hand yet (kl_theory: 3)")

    monkeypatch.setattr(export_module, "export_result", refuse)
    assert cli.main(["export"]) == 1
    assert "Export refused" in capsys.readouterr().err


def test_formgrader_serves_the_course_from_its_root(course: Course) -> None:
    from autograder.pipeline.graderonly import GRADER_FILES

    course = replace(course, root=course.root)
    config = handgrade.formgrader_config(course, port=9999, token="t", open_browser=False)
    assert config.ServerApp.root_dir == str(course.root) and config.ServerApp.default_url == "/formgrader"
    assert config.ServerApp.ip == "127.0.0.1" and config.IdentityProvider.token == "t"
    assert config.ServerApp.jpserver_extensions["nbgrader.server_extensions.formgrader"] is True
    assert config.CourseDirectory.root == str(course.root) and config.CourseDirectory.db_url == course.db_url
    assert RemoveGraderOnly in config.GenerateFeedback.preprocessors
    assert set(GRADER_FILES) <= set(config.CourseDirectory.ignore)


def _rendered(nb: nbformat.NotebookNode) -> str:
    from autograder.pipeline.handgrade import _html

    return _html(nb)


def test_the_graders_box_renders_its_messages_and_says_one_point(course: Course) -> None:
    """The box's own messages are HTML (markdown inside its <div> showed as "*No outputs*"),
    and one point is "1 point"."""
    from autograder.pipeline.handgrade import WrittenCell, grader_cell

    w = WrittenCell("written_x", 1.0, "Why?", "Model answer. Rubric: 1 point.")
    for outputs, words in (([], "No outputs in the student"), (None, "could not be read")):
        nb = nbformat.v4.new_notebook(cells=[grader_cell(w, "toy_vae", outputs)])
        page = _rendered(nb)
        assert f"<em>{words}" in page or f"<em>The student's upload {words}" in page
        assert "*No outputs" not in page and "*The student" not in page
        assert "1 point" in page and "1 points" not in page
    two = _rendered(nbformat.v4.new_notebook(cells=[grader_cell(replace(w, points=2.5), "toy_vae", [])]))
    assert "2.5 points" in two


def test_pages_load_mathjax_from_the_server_and_show_no_badge_image(course: Course) -> None:
    """nbconvert's pages (guides, own runs, feedback, the formgrader's) load MathJax from the
    Jupyter server that serves them (jupyter_server_mathjax), the CDN only as a fallback; the
    Colab badge is text, not an image from colab.research.google.com."""
    import importlib.util

    from autograder.pipeline.setup_cell import offline_badges

    page = write_guide(course, "toy_vae").read_text()
    assert "/static/jupyter_server_mathjax/MathJax.js" in page and 'data-vaecourse-mathjax="local-first"' in page
    assert importlib.util.find_spec("jupyter_server_mathjax") is not None
    config = handgrade.formgrader_config(course, port=9999, token="t", open_browser=False)
    assert config.ServerApp.jpserver_extensions["jupyter_server_mathjax"] is True
    badge = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
             "(https://colab.research.google.com/github/o/r/blob/t/notebooks/a/a.ipynb)")  # fmt: skip
    assert offline_badges(badge) == "[Open In Colab](https://colab.research.google.com/github/o/r/blob/t/notebooks/a/a.ipynb)"
    nb = ada_notebook(course)
    nb.cells[0].source += "\n\n" + badge
    path = _autograded(course, ADA, nb)
    annotate(course, "toy_vae", ADA)
    text = path.read_text() + (path.parent / f"toy_vae{OWN_RUN_SUFFIX}").read_text()
    assert "colab-badge.svg" not in text


def test_a_flagged_submission_gets_a_box_naming_every_flag(course: Course) -> None:
    from autograder.pipeline.scan import read_flags, record_flags

    flags = ["uses the IPython shell (cell 3: 'get_ipython()'; cell 5: 'x'; cell 7: 'y'; also cells 9, 11)"]
    record_flags(course, "toy_vae", {ADA: flags, "clean": []})
    assert read_flags(course) == {"toy_vae": {ADA: flags}}
    path = _autograded(course, ADA, ada_notebook(course))
    annotate(course, "toy_vae", ADA)
    annotate(course, "toy_vae", ADA)  # twice: one box
    boxes = [c for c in nbformat.read(path, as_version=4).cells if "flagged by the collect scan" in c.source]
    assert len(boxes) == 1 and "also cells 9, 11" in boxes[0].source and is_grader_only(boxes[0])
