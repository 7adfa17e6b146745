"""Generate the student releases (``notebooks/``) from the sources with nbgrader.

``nbgrader generate_assignment`` does the work (solutions replaced by stubs, hidden tests
and mark schemes removed, outputs cleared, checksums added). It runs against a throw-away
gradebook, so no gradebook ends up in git, and the output is normalized (volatile fields
dropped, stable JSON) so that the same sources always give byte-identical releases.
:func:`release_differences` is what CI uses to insist that the committed ``notebooks/``
are up to date. Before generating, :func:`release` writes each source's Colab badge and
setup cell from ``course.toml`` (:mod:`autograder.pipeline.setup_cell`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from ..course import Course
from .settings import generate_assignment, nbgrader_api
from .setup_cell import apply_course_config

VOLATILE_NB_META = ("widgets", "toc", "varInspector", "colab", "accelerator", "gpuClass")
VOLATILE_CELL_META = ("execution", "collapsed", "scrolled", "ExecuteTime", "jupyter", "outputId", "colab")


def normalize(nb: NotebookNode) -> NotebookNode:
    """Drop fields that change between runs or editors; keep everything nbgrader needs."""
    for key in VOLATILE_NB_META:
        nb.metadata.pop(key, None)
    info = nb.metadata.get("language_info")
    if isinstance(info, dict):
        nb.metadata["language_info"] = {"name": info.get("name", "python")}
    for cell in nb.cells:
        for key in VOLATILE_CELL_META:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def generate(course: Course, assignment: str, target: Path) -> Path:
    """Generate one release into ``target/<assignment>/`` (throw-away gradebook).

    Raises:
        RuntimeError: with nbgrader's log if generation fails.
    """
    course.require(assignment)
    with tempfile.TemporaryDirectory(prefix="vaecourse-release-") as scratch:
        build = course.with_work(Path(scratch))
        generate_assignment(nbgrader_api(build, release=Path(scratch) / "release"), assignment)
        produced = Path(scratch) / "release" / assignment
        out = target / assignment
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(produced, out)
    notebook = out / f"{assignment}.ipynb"
    nb = normalize(nbformat.read(notebook, as_version=4))
    nbformat.write(nb, notebook)
    return notebook


def sync_source(course: Course, assignment: str, *, write: bool = True) -> list[str]:
    """Write the source notebook's badge and setup cell from ``course.toml``; what changed.

    The source keeps its outputs (nbval compares them); with ``write=False`` nothing is
    written (``check-release``).
    """
    course.require(assignment)
    path = course.source_notebook(assignment)
    nb = nbformat.read(path, as_version=4)
    changed = apply_course_config(nb, course.config, assignment)
    if changed and write:
        nbformat.write(nb, path)
    return changed


def release(course: Course, assignments: list[str]) -> list[Path]:
    """Write each source's badge and setup cell from ``course.toml``, then regenerate
    ``notebooks/<assignment>/``; return the notebooks."""
    for a in assignments:
        sync_source(course, a)
    return [generate(course, a, course.release) for a in assignments]


def comparable(nb: NotebookNode) -> list[dict]:
    """A notebook reduced to what must match: cell types, sources, nbgrader metadata, ids."""
    nb = normalize(nb)
    return [
        {
            "id": cell.get("id"),
            "type": cell.cell_type,
            "source": cell.source,
            "nbgrader": cell.metadata.get("nbgrader"),
        }
        for cell in nb.cells
    ]


def release_differences(course: Course, assignment: str) -> list[str]:
    """How the committed release differs from a fresh one ([] when up to date)."""
    stale = sync_source(course, assignment, write=False)
    if stale:
        return [f"{assignment}: the source's {' and '.join(sorted(set(stale)))} do not match course.toml: "
                f"run `python -m autograder release {assignment}`"]
    committed = course.release_notebook(assignment)
    if not committed.is_file():
        return [f"{committed} is missing: run `python -m autograder release {assignment}`"]
    with tempfile.TemporaryDirectory(prefix="vaecourse-check-") as tmp:
        fresh = generate(course, assignment, Path(tmp))
        want = comparable(nbformat.read(fresh, as_version=4))
    have = comparable(nbformat.read(committed, as_version=4))
    problems = []
    if len(want) != len(have):
        problems.append(f"{assignment}: {len(have)} cells committed, {len(want)} generated")
    for i, (w, h) in enumerate(zip(want, have, strict=False)):
        for key in w:
            if w[key] != h[key]:
                problems.append(
                    f"{assignment} cell {i} ({w['nbgrader'] and w['nbgrader'].get('grade_id') or w['id']}): "
                    f"{key} differs: committed {json.dumps(h[key])[:120]} vs generated {json.dumps(w[key])[:120]}"
                )
    return problems
