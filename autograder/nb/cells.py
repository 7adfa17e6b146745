"""What a notebook cell is to nbgrader: its metadata, its role, its markers, the names it defines.

Every layer reads cells through these functions, so "is this a test cell?" has one answer:

* :func:`nbgrader_meta`: the cell's ``metadata.nbgrader`` ({} when absent or malformed);
* :func:`is_test_cell`: an autograded test (a code grade cell that is no solution);
* :func:`is_code_fill_in` / :func:`is_written_answer`: code and markdown solution cells;
* :func:`strip_markers`: the source without ``### BEGIN/END SOLUTION`` (and hidden-test,
  mark-scheme) lines;
* :func:`definitions` / :func:`defined_names`: what a cell defines, read with ``ast``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

_MARKER = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)\s*$")
# only for code that does not parse (a student's half-written cell)
_DEF = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.M)
_ASSIGN = re.compile(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)", re.M)


def nbgrader_meta(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's nbgrader metadata; {} when there is none or it is not a mapping.

    Works on ``NotebookNode`` cells and on the raw dicts of a damaged file alike.
    """
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, Mapping) else None
    return dict(nbg) if isinstance(nbg, Mapping) else {}


def grade_id(cell: Mapping[str, Any]) -> str | None:
    """The cell's nbgrader ``grade_id`` (None when it has none)."""
    return nbgrader_meta(cell).get("grade_id") or None


def is_solution(cell: Mapping[str, Any]) -> bool:
    """A cell the student fills in (code or written answer)."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_code_fill_in(cell: Mapping[str, Any]) -> bool:
    """A code cell the student fills in."""
    return cell.get("cell_type") == "code" and is_solution(cell)


def is_written_answer(cell: Mapping[str, Any]) -> bool:
    """A markdown (or raw) cell the student fills in: graded by hand, never by a test."""
    return cell.get("cell_type") != "code" and is_solution(cell)


def is_test_cell(cell: Mapping[str, Any]) -> bool:
    """An autograded test: a code grade cell that is no solution."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_locked(cell: Mapping[str, Any]) -> bool:
    """A cell the student must not change (locked or graded, and no solution)."""
    meta = nbgrader_meta(cell)
    return not meta.get("solution") and bool(meta.get("locked") or meta.get("grade"))


def strip_markers(source: str) -> str:
    """The source without nbgrader's ``### BEGIN/END SOLUTION`` (and similar) lines."""
    return "\n".join(line for line in source.splitlines() if not _MARKER.match(line))


def definitions(source: str) -> list[tuple[str, str]]:
    """``(kind, name)`` of each top-level definition, in order; kind is ``def``, ``class``
    or ``assign``. Code that does not parse gives [] (see :func:`defined_names`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[tuple[str, str]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(("def", node.name))
        elif isinstance(node, ast.ClassDef):
            found.append(("class", node.name))
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                found += [("assign", n.id) for n in ast.walk(target) if isinstance(n, ast.Name)]
    return found


def first_definition(source: str, kind: str) -> str | None:
    """The name of the first top-level definition of ``kind`` (``def``, ``class``,
    ``assign``) in ``source``, or None."""
    return next((name for k, name in definitions(source) if k == kind), None)


def defined_names(source: str) -> set[str]:
    """Top-level names a cell defines (functions, classes, assignments), lower-cased.

    A cell that does not parse (students hand in half-written code) is read line by line
    for ``def``/``class`` headers and ``name =`` assignments instead.
    """
    try:
        ast.parse(source)
    except SyntaxError:
        return {n.lower() for n in set(_DEF.findall(source)) | set(_ASSIGN.findall(source))}
    return {name.lower() for _, name in definitions(source)}


def fill_in_target(source: str, gid: str) -> dict | None:
    """What a code fill-in defines that another answer could stand in for: ``{"target": name,
    "kind": "function" | "class" | "method", "method": name (a method's), "header": the
    parameters as written}``. The function or class named like the grade id, else the method
    ``<class>_<method>`` names (``sampling_call``: ``Sampling.call``), else the cell's one
    function; None for a cell that defines none (a training cell, an answer variable)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    for node in defs:
        if node.name.lower() == gid.lower():
            if isinstance(node, ast.ClassDef):
                return {"target": node.name, "kind": "class", "header": "*args, **kwargs"}
            return {"target": node.name, "kind": "function", "header": ast.unparse(node.args)}
    for node in defs:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and gid.lower() == f"{node.name}_{item.name}".lower():
                    args = ast.unparse(item.args).split(",", 1)
                    header = args[1].strip() if len(args) > 1 else ""
                    return {"target": node.name, "method": item.name, "kind": "method", "header": header}
    functions = [n for n in defs if isinstance(n, ast.FunctionDef)]
    if len(functions) == 1:
        return {"target": functions[0].name, "kind": "function", "header": ast.unparse(functions[0].args)}
    return None
