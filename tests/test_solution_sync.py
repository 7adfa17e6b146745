"""The code in the solution notebooks is the code in the package (d2l style).

A fill-in body lives once, in ``vaecourse``, between ``# BEGIN FILL-IN <name>`` and
``# END FILL-IN <name>`` comment lines. The solution cell whose nbgrader ``grade_id`` is
that name shows the same lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``.
A marker may be qualified with its assignment (``# BEGIN FILL-IN celeba_vae/train_step``)
when two notebooks use the same grade id for different code; a qualified marker is
matched only by that assignment's cell. This test keeps the two from drifting apart.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "helpers" / "src" / "vaecourse"
ASSIGNMENTS = ("mnist_vae", "cifar10_vae", "mmd_vae", "celeba_vae", "kl_theory")

_BEGIN = re.compile(r"^\s*# BEGIN FILL-IN (\S+)\s*$")
_END = re.compile(r"^\s*# END FILL-IN (\S+)\s*$")


def _normalize(lines: list[str]) -> list[str]:
    text = textwrap.dedent("\n".join(line.rstrip() for line in lines))
    return [line for line in text.splitlines() if line.strip()]


def package_fill_ins() -> dict[str, list[tuple[str, list[str]]]]:
    """Every marked region of the package: name -> [(file:line, normalized lines)]."""
    regions: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text().splitlines()
        open_name, start, body = None, 0, []
        for number, line in enumerate(lines, 1):
            begin, end = _BEGIN.match(line), _END.match(line)
            if begin:
                assert open_name is None, f"{path}:{number}: nested FILL-IN marker"
                open_name, start, body = begin.group(1), number, []
            elif end:
                assert end.group(1) == open_name, f"{path}:{number}: END without matching BEGIN"
                where = f"{path.relative_to(ROOT)}:{start}"
                regions[open_name].append((where, _normalize(body)))
                open_name = None
            elif open_name is not None:
                body.append(line)
        assert open_name is None, f"{path}: FILL-IN {open_name} is never closed"
    return regions


def solution_cells(assignment: str) -> dict[str, list[str]]:
    """grade_id -> normalized code between the solution delimiters of each code solution cell."""
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cells: dict[str, list[str]] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        lines = cell.source.splitlines()
        try:
            first = next(i for i, s in enumerate(lines) if "### BEGIN SOLUTION" in s)
            last = next(i for i, s in enumerate(lines) if "### END SOLUTION" in s)
        except StopIteration:
            continue
        cells[meta["grade_id"]] = _normalize(lines[first + 1 : last])
    return cells


def test_every_marked_fill_in_is_shown_in_a_notebook() -> None:
    regions = package_fill_ins()
    assert regions, "the package marks no fill-in bodies"
    used = set()
    for assignment in ASSIGNMENTS:
        if (ROOT / "solutions" / assignment / f"{assignment}.ipynb").exists():
            used |= set(solution_cells(assignment))
            used |= {f"{assignment}/{grade_id}" for grade_id in solution_cells(assignment)}
    for name, places in regions.items():
        assert all(body for _, body in places), f"FILL-IN {name} is empty"
    unused = sorted(set(regions) - used)
    assert not unused, f"package FILL-IN regions that no solution notebook shows: {unused}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_cells_show_the_package_code(assignment: str) -> None:
    regions = package_fill_ins()
    cells = solution_cells(assignment)
    for grade_id, code in cells.items():
        name = f"{assignment}/{grade_id}" if f"{assignment}/{grade_id}" in regions else grade_id
        if name not in regions:
            continue
        candidates = [body for _, body in regions[name]]
        if code in candidates:
            continue
        where = ", ".join(place for place, _ in regions[name])
        closest = min(candidates, key=lambda body: len(set(body) ^ set(code)))
        diff = "\n".join(
            [f"- {line}" for line in closest if line not in code]
            + [f"+ {line}" for line in code if line not in closest]
        )
        pytest.fail(
            f"{assignment}: solution cell {name!r} differs from the package code at {where}:\n{diff}"
        )
