"""The pre-submission check cell at the end of every notebook, written by ``release``.

The cell (locked, ungraded, grade id ``submission_check``) calls ``vaecourse.submission.check``
with the notebook's manifest: its code cells in order (the locked ones with the fingerprint
students' kernels compute for them, ``vaecourse.submission.fingerprint``: the same for the
instructor's source and the release), its code answers, its graded cells and points, and the
largest upload the course site takes (``course.toml``). :func:`apply_submission_cell` writes or
updates it in a source notebook; ``release`` and ``check-release`` call it through
:func:`~autograder.pipeline.setup_cell.apply_course_config`, so it cannot go stale.
"""

from __future__ import annotations

import json

import nbformat
from nbformat import NotebookNode

from ..course import CourseConfig
from ..nb.cells import grade_id, is_code_fill_in, is_locked, is_test_cell, nbgrader_meta

GRADE_ID = "submission_check"
HEADER = (
    "# Run this cell last, before you download the notebook and hand it in (Run all runs it too).\n"
    "# It checks your run: every cell ran in order without an error, no answer is left as the stub,\n"
    "# the locked cells are as released, and the file's name and size fit the course site.\n"
    "from vaecourse import submission\n\n"
)


def manifest(nb: NotebookNode, config: CourseConfig, assignment: str) -> dict:
    """What the check cell knows about its notebook (see the module docstring)."""
    from vaecourse.submission import fingerprint

    cells, answers, auto, manual = [], [], {}, {}
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if cell.cell_type == "code" and gid != GRADE_ID:
            entry: dict = {"index": index, "grade_id": gid, "locked": is_locked(cell)}
            if entry["locked"]:
                entry["fingerprint"] = fingerprint(cell.source)
            cells.append(entry)
        if is_code_fill_in(cell) and gid:
            answers.append(gid)
        meta = nbgrader_meta(cell)
        if meta.get("grade") and gid:
            (auto if is_test_cell(cell) else manual)[gid] = float(meta.get("points", 0))
    return {"assignment": assignment, "max_megabytes": config.max_megabytes, "cells": cells,
            "answers": answers, "graded": {"auto": auto, "manual": manual}}  # fmt: skip


def cell_source(spec: dict) -> str:
    """The check cell's code for a manifest."""
    return HEADER + f"submission.check(r'''{json.dumps(spec, separators=(',', ':'))}''')"


def apply_submission_cell(nb: NotebookNode, config: CourseConfig, assignment: str) -> list[str]:
    """Write (or update) the check cell as the notebook's last cell; what changed."""
    source = cell_source(manifest(nb, config, assignment))
    existing = [i for i, c in enumerate(nb.cells) if grade_id(c) == GRADE_ID]
    if existing:
        cell = nb.cells[existing[-1]]
        if existing[-1] == len(nb.cells) - 1 and cell.source == source:
            return []
        nb.cells.pop(existing[-1])
    else:
        cell = nbformat.v4.new_code_cell(source)
        cell.id = "submission-check"
    cell.source = source
    cell.metadata["deletable"] = False
    cell.metadata["editable"] = False
    # its receipt depends on where it runs (the file it can see): nbval runs it, compares nothing
    cell.metadata["tags"] = ["nbval-ignore-output"]
    cell.metadata["nbgrader"] = {"cell_type": "code", "grade": False, "grade_id": GRADE_ID, "locked": True,
                                 "schema_version": 3, "solution": False}  # fmt: skip
    nb.cells.append(cell)
    return ["submission check cell"]
