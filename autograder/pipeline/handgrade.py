"""Hand grading in nbgrader's formgrader: what graders see, what is left, the server.

About a third of the course's points are written answers, graded by hand in the formgrader
on the gradebook ``python -m autograder`` fills. Autograde re-runs every notebook in the
grading profile, so the autograded notebook the formgrader shows has the grading profile's
numbers, not the student's. :func:`annotate` therefore puts, before each written answer of
an autograded notebook, one cell **for graders only** (removed from feedback by
:class:`~autograder.pipeline.graderonly.RemoveGraderOnly`) with:

* the student's own outputs (text and figures of the code cells since the previous written
  answer, from the file as uploaded, ``originals/``) and a link to that whole notebook as the
  student ran it, as HTML without any of the student's HTML or scripts (``<a>.own-run.html``
  beside the autograded notebook, :func:`safe_notebook`);
* the question's model answer, rubric and points, from ``solutions/``, and a link to the
  assignment's grader's guide (every written question on one page, :func:`write_guide`).

Both links are files of the submission's folder, which the formgrader serves next to the
notebook (``/formgrader/submissions/<id>/<file>``); nbgrader does not copy them into
feedback (:data:`~autograder.pipeline.graderonly.GRADER_FILES`). :func:`ungraded` counts the
written answers still waiting for a grader (``status``; ``feedback`` and ``export`` warn),
and :func:`serve_formgrader` opens the formgrader on the course (``python -m autograder
formgrader``), from the course root so that its links resolve.
"""

from __future__ import annotations

import functools
import html
import importlib.util
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from ..course import Course, points
from ..nb.cells import grade_id, is_test_cell, is_written_answer, nbgrader_meta, strip_markers
from .graderonly import GUIDE_SUFFIX, OWN_RUN_SUFFIX, is_grader_only, mark_grader_only
from .late import read_uploads
from .scan import read_flags
from .setup_cell import offline_notebook

LOG = logging.getLogger("autograder")
#: code cells with outputs shown per written answer (the nearest ones above it)
CONTEXT_CELLS = 4
MAX_TEXT = 4000  # characters of one text output shown in the grader's cell
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")


@dataclass(frozen=True)
class WrittenCell:
    """One written (hand-graded) question of an assignment, from its source notebook."""

    grade_id: str
    points: float
    question: str  # the markdown just above the answer cell
    model_answer: str  # the source cell's text: model answer and rubric


def written_cells(course: Course, assignment: str) -> list[WrittenCell]:
    """Every hand-graded written answer of ``assignment``, in notebook order."""
    nb = nbformat.read(course.source_notebook(assignment), as_version=4)
    found = []
    for i, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if is_written_answer(cell) and meta.get("grade") and grade_id(cell):
            before = nb.cells[i - 1] if i else None
            question = before.source if before is not None and before.cell_type == "markdown" \
                and not nbgrader_meta(before) else ""  # fmt: skip
            found.append(WrittenCell(str(grade_id(cell)), float(meta.get("points", 0)), question,
                                     strip_markers(cell.source).strip()))  # fmt: skip
    return found


# ---- the grader's guide ------------------------------------------------------------------
def guide_notebook(course: Course, assignment: str) -> NotebookNode:
    """The grader's guide of ``assignment`` as a notebook of markdown cells."""
    cells = written_cells(course, assignment)
    total = sum(w.points for w in cells)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"# Grader's guide: {assignment}\n\n"
        f"For graders only: every hand-graded question of `{assignment}` ({len(cells)} "
        f"question{'' if len(cells) == 1 else 's'}, {points(total)}), its model answer and rubric, "
        f"from `solutions/{assignment}/{assignment}.ipynb`. "
        "Grade against the student's own outputs (the box above each answer in the formgrader), "
        "not the grading profile's re-run."))  # fmt: skip
    for w in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(
            f'<a id="{w.grade_id}"></a>\n\n## `{w.grade_id}` ({points(w.points)})\n\n'
            f"{w.question}\n\n---\n\n{w.model_answer}"))  # fmt: skip
    return nb


@functools.cache
def _exporter():  # -> nbconvert.HTMLExporter (built once: loading its templates takes a second)
    from nbconvert import HTMLExporter

    from .settings import share_base_templates

    share_base_templates()
    return HTMLExporter(template_name="lab")


def _html(nb: NotebookNode) -> str:
    body, _ = _exporter().from_notebook_node(nb)
    return body


def write_guide(course: Course, assignment: str) -> Path:
    """``<work>/guides/<assignment>.html``: the grader's guide (see :func:`guide_notebook`)."""
    out = course.work / "guides" / f"{assignment}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_html(guide_notebook(course, assignment)), encoding="utf-8")
    return out


# ---- the student's own run ---------------------------------------------------------------
def _read(path: Path) -> NotebookNode | None:
    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 (a damaged upload: its repair report says why)
        return None


def _locate(nb: NotebookNode, cells: list[WrittenCell]) -> dict[str, int]:
    """Index of each written answer in a student's notebook: by grade id, else the cell
    after the question's text."""
    where: dict[str, int] = {}
    ids = {grade_id(c): i for i, c in enumerate(nb.cells)}
    texts = {c.source.strip(): i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"}
    for w in cells:
        if w.grade_id in ids:
            where[w.grade_id] = ids[w.grade_id]
        elif w.question.strip() and w.question.strip() in texts:
            where[w.grade_id] = texts[w.question.strip()] + 1
    return where


def _outputs_html(cell: NotebookNode) -> list[str]:
    """A code cell's outputs as safe HTML: escaped text, PNG/JPEG images only."""
    parts = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            text = "".join(out.get("text", ""))
        elif kind == "error":
            text = f"{out.get('ename', '')}: {out.get('evalue', '')}"
        else:
            data = out.get("data", {})
            image = next(((m, data[m]) for m in ("image/png", "image/jpeg") if m in data), None)
            if image and isinstance(image[1], str) and _BASE64.match(image[1]):
                src = image[1].replace("\n", "")
                parts.append(f'<img src="data:{image[0]};base64,{src}" style="max-width:100%" alt="student output">')
                continue
            text = "".join(data.get("text/plain", ""))
        text = text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n[... cut: see the whole notebook]"
        if text.strip():
            parts.append(f'<pre style="white-space:pre-wrap">{html.escape(text)}</pre>')
    return parts


def own_outputs(nb: NotebookNode | None, cells: list[WrittenCell]) -> dict[str, list[str]]:
    """Per written answer: the student's own outputs (HTML) of the last :data:`CONTEXT_CELLS`
    code cells with outputs between the previous written answer and this one."""
    if nb is None:
        return {}
    where = _locate(nb, cells)
    shown: dict[str, list[str]] = {}
    start = 0
    for w in cells:
        if w.grade_id not in where:
            continue
        end = where[w.grade_id]
        parts: list[list[str]] = []
        for cell in nb.cells[start:end]:
            if cell.cell_type == "code" and not is_test_cell(cell) and (outs := _outputs_html(cell)):
                parts.append(outs)
        shown[w.grade_id] = [p for outs in parts[-CONTEXT_CELLS:] for p in outs]
        start = end + 1
    return shown


SAFE_OUTPUTS = ("text/plain", "image/png", "image/jpeg")


def safe_notebook(nb: NotebookNode) -> NotebookNode:
    """A copy of a student's notebook that is safe to open in the grader's browser: HTML in
    markdown shown as text, outputs reduced to text and PNG/JPEG images (no HTML, no
    JavaScript, no SVG), raw cells dropped. (The formgrader is the grader's logged-in
    session: a student's script must not run there.)"""
    nb = nbformat.from_dict(nb)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = str(cell.source).replace("<", "&lt;")
        elif cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if "data" in out:
                    out["data"] = {k: v for k, v in out["data"].items() if k in SAFE_OUTPUTS}
                    out.pop("metadata", None)
                    out["metadata"] = {}
                    if not out["data"]:
                        continue
                outputs.append(out)
            cell.outputs = outputs
        else:
            continue
        cells.append(cell)
    nb.cells = cells
    return nb


def own_run_notebook(nb: NotebookNode, cells: list[WrittenCell], header: str) -> NotebookNode:
    """The student's notebook made safe (:func:`safe_notebook`), with a header and an anchor
    before each written answer."""
    nb = safe_notebook(nb)
    where = _locate(nb, cells)
    for gid, index in sorted(where.items(), key=lambda kv: -kv[1]):
        nb.cells.insert(index, nbformat.v4.new_markdown_cell(f'<a id="{gid}"></a>**Written answer `{gid}`:**'))
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(header))
    return nb


def _upload_line(course: Course, assignment: str, student: str) -> str:
    upload = read_uploads(course).get(assignment, {}).get(student)
    if upload is None:
        return ""
    when = f", uploaded {upload.uploaded:%Y-%m-%d %H:%M %Z}" if upload.uploaded else ""
    return f"File `{upload.file}`{when}{', marked LATE by the course site' if upload.late_flag else ''}."


# ---- the autograded notebook -------------------------------------------------------------
def grader_cell(w: WrittenCell, assignment: str, outputs: list[str] | None, upload: str = "") -> NotebookNode:
    """The grader-only cell placed before written answer ``w``."""
    # HTML, not markdown: inside the <div> below markdown is not rendered (it showed "*No outputs*")
    if outputs is None:
        own = "<p><em>The student's upload could not be read or this question was not found in it.</em></p>"
    elif not outputs:
        own = "<p><em>No outputs in the student's upload between the previous written question and this one.</em></p>"
    else:
        own = "\n".join(outputs)
    links = (f'<a href="{assignment}{OWN_RUN_SUFFIX}#{w.grade_id}" target="_blank">the whole notebook as the '
             f'student ran it</a> · <a href="{assignment}{GUIDE_SUFFIX}#{w.grade_id}" target="_blank">'
             f"grader's guide for {assignment}</a>")  # fmt: skip
    source = (
        '<div class="vaecourse-grader-only" style="border:2px solid #c77d00;background:#fff8e6;padding:6px 12px">\n\n'
        f"**For graders only** (not in feedback) · `{w.grade_id}` · **{points(w.points)}**\n\n"
        f"**The student's own outputs** (their upload, as they ran it; the cells above show the grading "
        f"profile's re-run). {upload}\n\n"
        f'<div class="vaecourse-own-outputs">\n{own}\n</div>\n\n'
        f"{links}\n\n"
        f'<div class="vaecourse-rubric">\n\n**Model answer and rubric**\n\n{w.model_answer}\n\n</div>\n\n</div>'
    )
    cell = nbformat.v4.new_markdown_cell(source)
    cell["id"] = f"grader-only-{w.grade_id}"[:64]
    return mark_grader_only(cell)


FLAG_CELL_ID = "grader-only-scan-flags"


def flag_cell(flags: list[str]) -> NotebookNode:
    """The grader-only box at the top of a flagged submission: every flag of the collect scan
    (:mod:`autograder.pipeline.scan`), each naming all the cells it was found in."""
    items = "\n".join(f"<li>{html.escape(f)}</li>" for f in flags)
    source = (
        '<div class="vaecourse-grader-only vaecourse-flags" style="border:2px solid #b00020;background:#fdecef;'
        'padding:6px 12px">\n\n'
        f"**For graders only** (not in feedback) · **flagged by the collect scan** ({len(flags)} "
        f"{'kind' if len(flags) == 1 else 'kinds'} of suspicious code; grades are not changed by it: "
        "look at the cells named, and unflag in the formgrader once checked)\n\n"
        f"<ul>\n{items}\n</ul>\n\n</div>"
    )
    cell = nbformat.v4.new_markdown_cell(source)
    cell["id"] = FLAG_CELL_ID
    return mark_grader_only(cell)


def annotate(course: Course, assignment: str, student: str, cells: list[WrittenCell] | None = None,
             *, render: bool = True, flags: list[str] | None = None) -> bool:  # fmt: skip
    """Add the grader-only cells and files to one autograded submission; False when there is
    no autograded notebook. Safe to repeat (earlier grader cells are replaced).

    ``flags``: the collect scan's flags of this submission (default: ``reports/flags.json``);
    a box naming them opens the notebook. The Colab badge's image is replaced by text
    (nothing in the formgrader loads from the network).

    ``render=False`` leaves out the student's whole run as HTML (about a CPU second per
    notebook): autograde does so, and ``formgrader`` renders the missing ones when it starts.
    """
    folder = course.autograded / student / assignment
    path = folder / f"{assignment}.ipynb"
    if not path.is_file():
        return False
    cells = written_cells(course, assignment) if cells is None else cells
    nb = offline_notebook(nbformat.read(path, as_version=4))
    nb.cells = [c for c in nb.cells if not is_grader_only(c)]
    flags = read_flags(course).get(assignment, {}).get(student, []) if flags is None else flags
    original = _read(course.originals / student / assignment / f"{assignment}.ipynb")
    outputs = own_outputs(original, cells)
    upload = _upload_line(course, assignment, student)
    where = _locate(nb, cells)
    for w in sorted(cells, key=lambda w: -where.get(w.grade_id, -1)):
        if w.grade_id in where:
            shown = outputs.get(w.grade_id) if original is not None and w.grade_id in outputs else None
            nb.cells.insert(where[w.grade_id], grader_cell(w, assignment, shown, upload))
    if flags:
        nb.cells.insert(min(1, len(nb.cells)), flag_cell(flags))
    nbformat.write(nb, path)
    if not cells:  # flagged, no written answers: no guide and no own run to link to
        return True
    header = (f"# {assignment}: the notebook of student `{student}` as uploaded\n\n"
              f"For graders: the student's own outputs (their run). {upload}")  # fmt: skip
    own_run = folder / f"{assignment}{OWN_RUN_SUFFIX}"
    if not render:
        pass
    elif original is not None:
        own_run.write_text(_html(offline_notebook(own_run_notebook(original, cells, header))), encoding="utf-8")
    else:
        own_run.write_text("<p>The uploaded file could not be read as a notebook: see reports/collect.json.</p>")
    guide = course.work / "guides" / f"{assignment}.html"
    if not guide.is_file():
        write_guide(course, assignment)
    (folder / f"{assignment}{GUIDE_SUFFIX}").write_bytes(guide.read_bytes())
    return True


def annotate_all(course: Course, assignments: list[str], *, missing_only: bool = False) -> int:
    """:func:`annotate` every autograded submission of ``assignments`` that has written
    answers (with ``missing_only``, those without the student's run as HTML yet), with a
    progress bar; return how many."""
    from tqdm.auto import tqdm

    todo = []
    flagged = read_flags(course)
    for assignment in assignments:
        if not course.source_notebook(assignment).is_file():
            continue
        cells = written_cells(course, assignment)
        if cells:
            write_guide(course, assignment)
        for path in sorted(course.autograded.glob(f"*/{assignment}/{assignment}.ipynb")):
            student = path.parent.parent.name
            if not (cells or flagged.get(assignment, {}).get(student)):
                continue
            if not (missing_only and (path.parent / f"{assignment}{OWN_RUN_SUFFIX}").is_file()):
                todo.append((assignment, student, cells))
    done = 0
    for assignment, student, cells in tqdm(todo, desc="graders' view", unit="notebook", disable=len(todo) < 5):
        done += annotate(course, assignment, student, cells)
    return done


# ---- what is left to grade ---------------------------------------------------------------
@dataclass
class AssignmentStatus:
    """Where one assignment stands: submissions, and written answers graded or not."""

    assignment: str
    submissions: int
    autograded: int
    written: int  # written answers in all submissions
    ungraded: dict[str, list[str]]  # student -> grade ids still waiting for a grader

    @property
    def ungraded_count(self) -> int:
        return sum(len(v) for v in self.ungraded.values())


def status(course: Course, assignments: list[str]) -> list[AssignmentStatus]:
    """Per assignment, from the gradebook: submissions, autograded ones, and the written
    answers that still need a grader (nbgrader's ``needs_manual_grade``)."""
    from nbgrader.api import Gradebook, MissingEntry

    result: list[AssignmentStatus] = []
    if not course.has_gradebook:  # nothing collected yet
        return [AssignmentStatus(a, 0, 0, 0, {}) for a in assignments]
    with Gradebook(course.db_url, course.course_id) as gb:
        for assignment in assignments:
            try:
                found = gb.find_assignment(assignment)
            except MissingEntry:
                result.append(AssignmentStatus(assignment, 0, 0, 0, {}))
                continue
            manual = {c.name for nb in found.notebooks for c in nb.grade_cells if c.cell_type == "markdown"}
            written, waiting, autograded = 0, {}, 0
            for sub in found.submissions:
                autograded += (course.autograded / sub.student.id / assignment).is_dir()
                for nb in sub.notebooks:
                    for g in nb.grades:
                        written += g.name in manual
                        if g.needs_manual_grade:
                            waiting.setdefault(sub.student.id, []).append(g.name)
            result.append(AssignmentStatus(assignment, len(found.submissions), autograded, written, waiting))
    return result


def ungraded(course: Course, assignments: list[str]) -> dict[str, int]:
    """Assignment -> written answers still waiting for a grader (only those with any)."""
    return {s.assignment: s.ungraded_count for s in status(course, assignments) if s.ungraded_count}


def format_status(rows: list[AssignmentStatus]) -> str:
    """The ``status`` table, and what to do next."""
    head = f"{'assignment':14s}{'submissions':>12s}{'autograded':>12s}{'written':>9s}{'ungraded':>10s}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.assignment:14s}{r.submissions:12d}{r.autograded:12d}{r.written:9d}{r.ungraded_count:10d}")
    waiting = sum(r.ungraded_count for r in rows)
    if waiting:
        lines.append(f"\n{waiting} written answers wait for a grader: python -m autograder formgrader; "
                     "then python -m autograder feedback and export.")  # fmt: skip
    elif any(r.submissions for r in rows):
        lines.append("\nEvery written answer is graded: python -m autograder feedback, then export.")
    return "\n".join(lines)


def ungraded_warning(counts: dict[str, int]) -> str:
    """One line for ``feedback`` and ``export`` while written answers are ungraded ('' if none)."""
    if not counts:
        return ""
    parts = ", ".join(f"{a}: {n}" for a, n in counts.items())
    return (f"WARNING: written answers not graded by hand yet ({parts}); they count as zero until "
            "graded (python -m autograder formgrader), then run feedback and export again.")  # fmt: skip


# ---- the formgrader ----------------------------------------------------------------------
def formgrader_config(course: Course, *, ip: str = "127.0.0.1", port: int = 0, token: str | None = None,
                      open_browser: bool = True):  # fmt: skip  # -> traitlets Config
    """The Jupyter server's settings: the course's nbgrader settings, served from the course
    root (so the formgrader's links resolve), opening on ``/formgrader``."""
    from .settings import nbgrader_config

    config = nbgrader_config(course)
    config.ServerApp.root_dir = str(course.root)
    config.ServerApp.ip = ip
    if port:
        config.ServerApp.port = port
    config.ServerApp.default_url = "/formgrader"
    # enabled by nbgrader's install; named here too, for virtualenvs that miss the base
    # installation's jupyter_server_config.d (the notebook app opens the notebooks' links)
    # jupyter_server_mathjax serves MathJax from this server (/static/jupyter_server_mathjax/):
    # the formgrader's pages, guides and own runs then typeset formulas without the network
    config.ServerApp.jpserver_extensions = {
        name: True for name in ("nbgrader.server_extensions.formgrader", "notebook", "jupyterlab",
                                "jupyter_server_mathjax")
        if importlib.util.find_spec(name.split(".")[0]) is not None
    }  # fmt: skip
    config.ServerApp.open_browser = open_browser
    config.ServerApp.allow_root = hasattr(os, "geteuid") and os.geteuid() == 0  # containers, CI
    # the course site moves the files, not nbgrader's exchange: keep it in the work folder
    config.Exchange.root = str(course.work / "exchange")
    (course.work / "exchange").mkdir(parents=True, exist_ok=True)
    if token is not None:
        config.IdentityProvider.token = token
    return config


def serve_formgrader(course: Course, assignments: list[str], *, ip: str = "127.0.0.1", port: int = 0,
                     token: str | None = None, open_browser: bool = True) -> None:  # fmt: skip
    """Prepare the graders' cells where missing, then run a Jupyter server with nbgrader's
    formgrader on the course until interrupted (Ctrl-C)."""
    from jupyter_server.serverapp import ServerApp

    if not course.work.resolve().is_relative_to(course.root.resolve()):
        LOG.warning("the working folder %s is outside the course root %s: the formgrader's links to "
                    "notebooks will not open", course.work, course.root)  # fmt: skip
    annotate_all(course, assignments, missing_only=True)
    os.chdir(course.root)
    config = formgrader_config(course, ip=ip, port=port, token=token, open_browser=open_browser)
    ServerApp.launch_instance(argv=[], config=config)


def guide_links(course: Course, assignments: list[str]) -> list[Path]:
    """The grader's guide of each assignment (written now)."""
    return [write_guide(course, a) for a in assignments if course.source_notebook(a).is_file()]
