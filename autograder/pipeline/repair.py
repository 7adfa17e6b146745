"""Normalize a submitted notebook against the release before nbgrader sees it.

About 5% of real submissions break nbgrader's batch autograde: the notebook was re-saved by
another editor (nbgrader metadata or cell ids lost, another nbformat version), cells were
turned from code into markdown, test cells were deleted or duplicated, cells were inserted
or moved. :func:`repair` rebuilds the submission on the release's skeleton:

1. every release cell is found in the submission, in this order of evidence: its nbgrader
   ``grade_id``; identical text; for fill-in code cells, the names the cell defines (the
   grade id names what a fill-in defines, and the reference solution says which names);
   for the rest, its place between cells already found;
2. the result has the release's cells in the release's order, with the release's metadata
   and ids; fill-in cells carry the student's text (with the release's cell type); locked
   cells the release's text;
3. nothing the student wrote is dropped: cells that match nothing stay where they were
   (after the same neighbours), edited locked cells are kept as an extra raw/markdown cell
   right after the restored one, further copies of a fill-in cell stay as plain cells in
   their place. Only exact copies of release text are dropped.

A file that is empty, not a notebook, or another assignment's notebook is rejected (graded
as the blank release, i.e. zero) with a clear reason. Every change is listed in the report.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from ..nb.cells import defined_names, grade_id, is_locked, is_solution, strip_markers
from .setup_cell import BEGIN, END

_INSTALL_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
_INSTALL_PLACEHOLDER = "# --- vaecourse install block ---"

MIN_FOUND = 0.2  # share of the release's fixed cells that must be present


@dataclass
class RepairReport:
    """What :func:`repair` did to one submission."""

    status: str  # "ok", "repaired" or "rejected"
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.status}: " + ("; ".join(self.notes) if self.notes else "nothing to repair")


@dataclass
class _Cell:
    index: int
    kind: str
    source: str
    grade_id: str | None
    attachments: dict | None = None

    @property
    def norm(self) -> str:
        return _norm(self.source)


def _norm(text: str) -> str:
    """Text as compared with the release: trailing spaces ignored, and the setup cell's install
    block (:mod:`autograder.pipeline.setup_cell`) taken as a whole, since a re-publish rewrites
    its URL and tag: a submission made from the previous release is not "edited" for it."""
    text = _INSTALL_BLOCK.sub(_INSTALL_PLACEHOLDER, text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _source(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


# ---- reading ---------------------------------------------------------------------------
def read_cells(raw: bytes) -> tuple[list[_Cell] | None, list[str]]:
    """The submission's cells, leniently; (None, [reason]) when it is no notebook."""
    notes: list[str] = []
    if not raw.strip():
        return None, ["the file is empty"]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, ["the file is not a notebook (not UTF-8 text; a PDF, zip or image?)"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return None, [f"the file is not a notebook (not valid JSON: {e.msg} at line {e.lineno})"]
    if not isinstance(data, dict) or not ("cells" in data or "worksheets" in data):
        return None, ["the file is JSON but not a Jupyter notebook (no cells)"]
    major = data.get("nbformat")
    minor = data.get("nbformat_minor")
    if major != 4 or minor != 5:
        notes.append(f"nbformat {major}.{minor} converted to 4.5")
    if "worksheets" in data:  # nbformat 3
        try:
            nb = nbformat.reads(text, as_version=4)
            cells_raw = [dict(c) for c in nb.cells]
        except Exception as e:  # noqa: BLE001
            return None, [f"the file is an nbformat 3 notebook that cannot be converted ({e})"]
    else:
        cells_raw = data.get("cells") or []
    cells = []
    missing_ids = 0
    for i, c in enumerate(cells_raw):
        if not isinstance(c, dict):
            continue
        kind = c.get("cell_type") if c.get("cell_type") in ("code", "markdown", "raw") else "raw"
        if not c.get("id"):
            missing_ids += 1
        cells.append(_Cell(i, kind, _source(c.get("source", c.get("input", ""))), grade_id(c),
                           c.get("attachments") if kind == "markdown" else None))  # fmt: skip
    if missing_ids and major == 4 and (minor or 0) >= 5:
        notes.append(f"{missing_ids} cells had no id")
    return cells, notes


# ---- repair ------------------------------------------------------------------------------
@dataclass
class _Slot:
    """One release cell and what it wants."""

    index: int
    cell: NotebookNode
    role: str  # "solution", "locked" (incl. tests) or "plain"
    grade_id: str | None
    names: set[str]

    @property
    def norm(self) -> str:
        return _norm(self.cell.source)


def _slots(release: NotebookNode, reference: dict[str, str]) -> list[_Slot]:
    slots = []
    for i, cell in enumerate(release.cells):
        gid = grade_id(cell)
        if is_solution(cell):
            role = "solution"
        elif is_locked(cell):
            role = "locked"
        else:
            role = "plain"
        names: set[str] = set()
        if role == "solution" and cell.cell_type == "code":
            names = defined_names(cell.source) | defined_names(strip_markers(reference.get(gid, "")))
            if gid:
                names.add(gid.lower())
        slots.append(_Slot(i, cell, role, gid, names))
    return slots


def match_cells(slots: list[_Slot], cells: list[_Cell]) -> dict[int, int]:
    """Map release slot index -> submission cell index (see the module docstring)."""
    match: dict[int, int] = {}
    used: set[int] = set()
    by_gid: dict[str, _Slot] = {s.grade_id: s for s in slots if s.grade_id}

    # 1. nbgrader grade ids (first occurrence wins)
    for c in cells:
        slot = by_gid.get(c.grade_id or "")
        if slot is not None and slot.index not in match:
            match[slot.index] = c.index
            used.add(c.index)
    # 2. identical text
    by_text: dict[str, list[_Slot]] = {}
    for s in slots:
        if s.norm:
            by_text.setdefault(s.norm, []).append(s)
    for c in cells:
        if c.index in used or not c.norm:
            continue
        for s in by_text.get(c.norm, []):
            if s.index not in match:
                match[s.index] = c.index
                used.add(c.index)
                break
    # 3. fill-in code cells: the names they define
    for s in slots:
        if s.index in match or s.role != "solution" or s.cell.cell_type != "code" or not s.names:
            continue
        best, best_score = None, 0
        for c in cells:
            if c.index in used or c.kind == "raw":
                continue
            score = len(defined_names(c.source) & s.names)
            if score > best_score:
                best, best_score = c, score
        if best is not None:
            match[s.index] = best.index
            used.add(best.index)
    # 4. the rest by position between cells already placed
    order = sorted(match.items())
    for s in slots:
        if s.index in match or s.role == "locked":
            continue
        before = max((ci for si, ci in order if si < s.index), default=-1)
        after = min((ci for si, ci in order if si > s.index), default=len(cells) + 10**6)
        candidates = [c for c in cells if before < c.index < after and c.index not in used and c.norm]
        if s.role == "plain":
            candidates = [c for c in candidates if c.kind == s.cell.cell_type and
                          difflib.SequenceMatcher(None, c.norm, s.norm).ratio() > 0.6]  # fmt: skip
        if not candidates:
            continue
        same_kind = [c for c in candidates if c.kind == s.cell.cell_type]
        pick = (same_kind or candidates)[0]
        match[s.index] = pick.index
        used.add(pick.index)
        order = sorted(match.items())
    return match


def _fixed_share(slots: list[_Slot], cells: list[_Cell]) -> float:
    """Share of the release's fixed cells (locked or instructions) found in the submission."""
    fixed = [s for s in slots if s.role != "solution" and len(s.norm) >= 20]
    if not fixed:
        return 1.0
    texts = {c.norm for c in cells}
    ids = {c.grade_id for c in cells if c.grade_id}
    found = sum(1 for s in fixed if s.norm in texts or (s.grade_id and s.grade_id in ids))
    return found / len(fixed)


def repair(
    raw: bytes,
    release: NotebookNode,
    reference: dict[str, str],
    others: dict[str, NotebookNode] | None = None,
) -> tuple[NotebookNode, RepairReport]:
    """Rebuild a submission on the release's skeleton.

    Args:
        raw: the submitted file's bytes.
        release: the assignment's release notebook.
        reference: grade_id -> reference source of each fill-in (from the source notebook).
        others: the other assignments' releases, to recognize a wrong notebook.

    Returns:
        The notebook to grade (the blank release when rejected) and the report.
    """
    blank = copy.deepcopy(release)
    cells, notes = read_cells(raw)
    if cells is None:
        return blank, RepairReport("rejected", notes + ["graded as an empty submission (zero)"])
    slots = _slots(release, reference)
    share = _fixed_share(slots, cells)
    if share < MIN_FOUND:
        reason = f"only {share:.0%} of this assignment's fixed cells are in the file"
        for name, other in (others or {}).items():
            if _fixed_share(_slots(other, {}), cells) >= 0.5:
                reason = f"this is the notebook of assignment {name!r}, not this one"
                break
        return blank, RepairReport("rejected", notes + [reason, "graded as an empty submission (zero)"])

    match = match_cells(slots, cells)
    slot_of_cell = {ci: si for si, ci in match.items()}
    by_index = {c.index: c for c in cells}
    gid_count: dict[str, int] = {}
    for c in cells:
        if c.grade_id:
            gid_count[c.grade_id] = gid_count.get(c.grade_id, 0) + 1

    # extras: student cells not matched, placed after the slot of the closest matched cell before
    extras_after: dict[int, list[NotebookNode]] = {}
    first_slot = next((s.index for s in slots if s.grade_id == "setup"), 0)
    last_slot = first_slot
    release_texts = {s.norm for s in slots if s.norm}
    dropped_copies = 0
    for c in cells:
        if c.index in slot_of_cell:
            last_slot = max(slot_of_cell[c.index], first_slot)
            continue
        if c.norm in release_texts or not c.norm:
            dropped_copies += bool(c.norm)
            continue
        extra = _extra_cell(c)
        extras_after.setdefault(last_slot, []).append(extra)
        what = f"a copy of {c.grade_id!r}" if c.grade_id else "a cell"
        notes.append(f"kept {what} that matches no release cell ({_preview(c.source)}) as an ungraded {extra.cell_type} cell")
    if dropped_copies:
        notes.append(f"dropped {dropped_copies} duplicated copies of release cells")

    out = nbformat.v4.new_notebook()
    out.metadata = copy.deepcopy(release.metadata)
    out.nbformat, out.nbformat_minor = 4, 5
    student_order = []
    restored_meta: list[str] = []
    for s in slots:
        cell = copy.deepcopy(s.cell)
        ci = match.get(s.index)
        c = by_index.get(ci) if ci is not None else None
        label = s.grade_id or f"cell {s.index}"
        if c is None:
            if s.role == "solution":
                notes.append(f"no answer found for {label!r}: left blank")
            elif s.role == "locked" and s.grade_id and s.grade_id.startswith("test"):
                notes.append(f"test cell {label!r} was missing: restored")
            else:
                notes.append(f"{label} was missing: restored from the release")
        else:
            student_order.append(c.index)
            if c.grade_id is None and s.grade_id:
                restored_meta.append(s.grade_id)
            if s.role in ("solution", "plain"):
                if c.kind != cell.cell_type:
                    notes.append(f"{label!r} was a {c.kind} cell: turned back into {cell.cell_type}")
                cell.source = c.source
                if c.attachments and cell.cell_type == "markdown":
                    cell["attachments"] = c.attachments
            elif c.kind != cell.cell_type:
                notes.append(f"locked cell {label!r} was a {c.kind} cell: restored")
            if s.role == "locked" and c.norm != s.norm and c.norm:
                keep = _extra_cell(c, raw_for_code=True)
                extras_after.setdefault(s.index, []).insert(0, keep)
                notes.append(f"locked cell {label!r} had been edited: restored, the edited text kept below it")
        if s.grade_id and gid_count.get(s.grade_id, 0) > 1 and s.role == "locked":
            notes.append(f"{label!r} appeared {gid_count[s.grade_id]} times: kept once")
        out.cells.append(cell)
        out.cells.extend(extras_after.get(s.index, []))
    if restored_meta:
        notes.append(f"nbgrader metadata restored on {len(restored_meta)} cells ({', '.join(restored_meta)})")
    if student_order != sorted(student_order):
        notes.append("cells were reordered: put back in the release's order")
    for n, cell in enumerate(c for c in out.cells if not c.get("id")):
        cell["id"] = f"student-extra-{n}"
    status = "repaired" if notes else "ok"
    return out, RepairReport(status, notes)


def _extra_cell(c: _Cell, raw_for_code: bool = False) -> NotebookNode:
    if c.kind == "markdown":
        cell = new_markdown_cell(c.source)
        if c.attachments:
            cell["attachments"] = c.attachments
    elif c.kind == "code" and not raw_for_code:
        cell = new_code_cell(c.source)
    else:
        cell = new_raw_cell(c.source)
    cell.pop("id", None)
    return cell


def _preview(text: str, n: int = 40) -> str:
    one = " ".join(text.split())
    return repr(one[:n] + ("..." if len(one) > n else ""))
