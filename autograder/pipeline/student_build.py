"""A student copy of the helpers package, without the answers to graded cells.

The ``vaecourse`` package holds the reference implementations that the notebooks build on,
including the functions students write themselves, and helpers that compute what a graded cell
asks for. Both are marked in the source, around the body that holds the answer::

    def reparameterize(mean, logvar, seed=None):
        \"\"\"...\"\"\"
        # BEGIN FILL-IN reparameterize
        ...reference code...
        # END FILL-IN reparameterize

    def kl_to_standard_normal(mean, logvar):
        \"\"\"...\"\"\"
        # BEGIN ANSWER kl_theory/kl_to_standard_normal
        ...
        # END ANSWER kl_theory/kl_to_standard_normal

* ``FILL-IN <name> [<assignment>/<grade id> ...]``: the body of a function students write
  (``<name>``; its assignment is :func:`fill_in_owners`'), and of any further graded cells listed;
* ``ANSWER <assignment>/<grade id> [...]``: a helper that is no fill-in but would answer the
  graded cells listed (called by name, through the cell's signature, or with a line of glue:
  the answer audit, :mod:`autograder.proofs.audit`, finds those that are not marked).

A block is stripped from every build in which one of its assignments is still open: its body
becomes ``raise NotImplementedError(...)`` at the same indentation (:func:`strip_fill_ins`).
Each block's assignments are :func:`block_assignments`; grading uses, per assignment, the build
its students had (:func:`prepare_grading_builds`: blocks of that assignment and of later ones
stripped), ``publish`` the build of the day (:func:`past_due`). The grader-only test kit
(``vaecourse/testkit``: the hidden tests' stand-ins and NumPy twins) is left out of every build
students get and is put into the grading builds.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ..course import Course

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN (?P<kind>FILL-IN|ANSWER) (?P<name>\S+)(?P<extra>(?:[ \t]+\S+)*)\s*$")
END = re.compile(r"^\s*# END (?P<kind>FILL-IN|ANSWER) (?P<name>\S+)\s*$")
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", "build", "dist")
#: folders of the package that only grading kernels get (the hidden tests' test kit)
GRADER_ONLY = ("testkit",)
_DEF = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+(\w+)")


def strip_fill_ins(source: str, keep: set[str] | frozenset[str] = frozenset(), path: str = "") -> tuple[str, list[str]]:
    """``source`` with its fill-in and answer bodies replaced, except the blocks whose name (a
    fill-in's name, an answer's first graded cell) is in ``keep``; also the names replaced.

    Raises:
        ValueError: for unbalanced markers or a block at module level.
    """
    out: list[str] = []
    stripped: list[str] = []
    current: str | None = None
    function = "this function"
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if (m := _DEF.match(line)) and current is None:
            function = m.group(1)
        if begin:
            if current is not None:
                raise ValueError(f"{path}:{number}: block {begin['name']} starts inside {current}")
            current, indent = begin["name"], begin["indent"]
            if current in keep:
                out.append(line)
                continue
            if not indent:
                raise ValueError(f"{path}:{number}: block {current} is not inside a function")
            if begin["kind"] == "FILL-IN":
                out.append(f"{indent}# FILL-IN {current}: your notebook's answer replaces this\n")
                out.append(f'{indent}raise NotImplementedError("{current}: write it in the notebook")\n')
            else:
                cells = ", ".join([current, *begin["extra"].split()])
                out.append(f"{indent}# hidden while its assignment is open: it would answer {cells}\n")
                out.append(f'{indent}raise NotImplementedError("{function}: not in the package while '
                           f'it would answer a graded cell ({cells}); use your own code")\n')  # fmt: skip
            stripped.append(current)
        elif end:
            if end["name"] != current:
                raise ValueError(f"{path}:{number}: END {end['kind']} {end['name']} does not close {current}")
            if current in keep:
                out.append(line)
            current = None
        elif current is None or current in keep:
            out.append(line)
    if current is not None:
        raise ValueError(f"{path}: block {current} is never closed")
    return "".join(out), stripped


def build_student_helpers(helpers: Path, out: Path, keep: set[str] | None = None,
                          grader: bool = False) -> tuple[Path, list[str]]:  # fmt: skip
    """Copy ``helpers`` to ``out`` with the fill-in and answer bodies replaced (but those in
    ``keep``); return (out, names). The grader-only test kit (:data:`GRADER_ONLY`) is left out
    unless ``grader`` (a grading kernel's build)."""
    keep = keep or set()
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(helpers, out, ignore=IGNORE)
    if not grader:
        for folder in GRADER_ONLY:
            for found in (out / "src").rglob(folder):
                if found.is_dir():
                    shutil.rmtree(found)
    stripped: list[str] = []
    for path in sorted(out.rglob("*.py")):
        text = path.read_text()
        new, names = strip_fill_ins(text, keep, str(path))
        if names:
            compile(new, str(path), "exec")  # the copy must stay importable
            path.write_text(new)
            stripped += names
    return out, stripped


# ---- which assignment each block belongs to ----------------------------------------------
def fill_in_markers(helpers: Path, kind: str = "FILL-IN") -> list[tuple[str, Path]]:
    """Every ``# BEGIN FILL-IN <name>`` (or ``ANSWER``) of the package: (name, file)."""
    return [(name, path) for name, _, path in _markers(helpers) if _ == kind]


def _markers(helpers: Path) -> list[tuple[str, str, Path]]:
    found = []
    for path in sorted((Path(helpers) / "src").rglob("*.py")):
        for line in path.read_text().splitlines():
            if m := BEGIN.match(line):
                found.append((m["name"], m["kind"], path))
    return found


def answered_cells(helpers: Path) -> dict[str, set[str]]:
    """Block name -> the graded cells (``<assignment>/<grade id>``) it names besides a fill-in's
    own: an answer block's cells, a fill-in's extra ones."""
    cells: dict[str, set[str]] = {}
    for path in sorted((Path(helpers) / "src").rglob("*.py")):
        for line in path.read_text().splitlines():
            if m := BEGIN.match(line):
                named = m["extra"].split() + ([m["name"]] if m["kind"] == "ANSWER" else [])
                cells.setdefault(m["name"], set()).update(named)
    return cells


def fill_in_owners(course: Course) -> dict[str, str]:
    """Fill-in name -> the assignment whose students write it.

    A marker ``<assignment>/<name>`` names its assignment; otherwise it is the first
    assignment (course order) whose solution cells define ``<name>`` (case-insensitive).

    Raises:
        ValueError: for a fill-in no assignment writes (its marker must name one).
    """
    import nbformat

    from ..nb.cells import defined_names, is_code_fill_in, strip_markers

    assignments = course.assignments()
    defined = {
        a: {n.lower() for c in nbformat.read(course.source_notebook(a), as_version=4).cells
            if is_code_fill_in(c) for n in defined_names(strip_markers(c.source))}
        for a in assignments
    }  # fmt: skip
    owners: dict[str, str] = {}
    for name, path in fill_in_markers(course.root / "helpers"):
        prefix, _, bare = name.rpartition("/")
        if prefix:
            if prefix not in assignments:
                raise ValueError(f"{path}: fill-in {name} names no assignment of the course")
            owners[name] = prefix
            continue
        found = [a for a in assignments if bare.lower() in defined[a]]
        if not found:
            raise ValueError(
                f"{path}: no assignment's solution cells define {name}; write the marker as "
                f"'# BEGIN FILL-IN <assignment>/{name}'"
            )
        owners[name] = found[0]
    return owners


def block_assignments(course: Course) -> dict[str, set[str]]:
    """Every block (fill-in or answer, by name) -> the assignments whose graded cells it answers:
    a fill-in's owner, and the assignment of every cell a marker names.

    Raises:
        ValueError: for a named cell that is not ``<assignment>/<grade id>`` of a graded cell of
            the course (a marker must not go stale when a notebook changes).
    """
    from ..nb.spec import AssignmentSpec

    assignments = course.assignments()
    owners = fill_in_owners(course)
    blocks = {name: {owner} for name, owner in owners.items()}
    graded: dict[str, set[str]] = {}
    for name, cells in answered_cells(course.root / "helpers").items():
        for cell in cells:
            assignment, _, gid = cell.partition("/")
            if assignment not in assignments:
                raise ValueError(f"block {name}: {cell!r} names no assignment of the course")
            if assignment not in graded:
                spec = AssignmentSpec.read(course.source_notebook(assignment))
                graded[assignment] = {*spec.tests, *spec.manual, *spec.solutions}
            if gid not in graded[assignment]:
                raise ValueError(f"block {name}: {assignment} has no graded cell {gid!r}")
            blocks.setdefault(name, set()).add(assignment)
    return blocks


def stripped_for(course: Course, assignment: str | None) -> set[str]:
    """Blocks a student build for ``assignment`` hides: those of it and of later assignments.

    ``None``: every block (the build before the first assignment).
    """
    order = course.assignments()
    return open_blocks(course, set(order if assignment is None else order[order.index(assignment):]))


def open_blocks(course: Course, still_open: set[str]) -> set[str]:
    """Blocks that answer a graded cell of an assignment in ``still_open``."""
    return {name for name, owners in block_assignments(course).items() if owners & still_open}


def past_due(course: Course, when: datetime | None = None) -> list[str]:
    """Assignments whose due date in ``course.toml`` has passed at ``when`` (default: now)."""
    when = when or datetime.now(UTC)
    return [a for a in course.assignments() if (due := course.config.due.get(a)) is not None and due <= when]


def build_for(course: Course, out: Path, strip: set[str], grader: bool = False) -> tuple[Path, list[str]]:
    """A student build that hides the blocks ``strip`` (all others kept), with package
    metadata (``*.dist-info``) next to the package, so that ``importlib.metadata`` finds this
    build's version first when ``out/src`` is on ``PYTHONPATH``; with ``grader``, the
    grader-only test kit too (a grading kernel's build)."""
    every = {name for name, _, _ in _markers(course.root / "helpers")}
    out, names = build_student_helpers(course.root / "helpers", out, keep=every - set(strip), grader=grader)
    version = _version(out)
    info = out / "src" / f"vaecourse-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vaecourse\nVersion: {version}\n")
    return out, names


def grading_build(course: Course, assignment: str) -> Path:
    """Where the grading kernels of ``assignment`` find their build (``<work>/student-helpers/<a>``)."""
    return course.work / "student-helpers" / assignment


def prepare_grading_builds(course: Course, assignments: list[str]) -> dict[str, Path]:
    """Build, once per grading run, the package each assignment's students had: that
    assignment's fill-ins and later ones stripped. Returns ``{assignment: folder with the
    package}`` (the folder goes first on the kernels' ``PYTHONPATH``)."""
    paths = {}
    for assignment in assignments:
        out, _ = build_for(course, grading_build(course, assignment), stripped_for(course, assignment), grader=True)
        paths[assignment] = out / "src"
    return paths


def fill_in_api(course: Course, assignment: str) -> frozenset[str]:
    """The package's functions and classes that hold a block (fill-in or answer) of
    ``assignment`` (what the scan flags when an answer imports or calls them)."""
    import ast

    mine = {name for name, owners in block_assignments(course).items() if assignment in owners}
    names: set[str] = set()
    for path in sorted({p for n, _, p in _markers(course.root / "helpers") if n in mine}):
        text = path.read_text()
        starts = [i for i, line in enumerate(text.splitlines(), 1)
                  if (m := BEGIN.match(line)) and m["name"] in mine]  # fmt: skip
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and any(
                    node.lineno <= s <= (node.end_lineno or 0) for s in starts):  # fmt: skip
                names.add(node.name)
    return frozenset(names)


def _version(helpers: Path) -> str:
    import tomllib

    return str(tomllib.loads((helpers / "pyproject.toml").read_text())["project"]["version"])


# ---- which earlier assignments a notebook builds on ---------------------------------------
def block_holders(course: Course) -> dict[tuple[str, str], set[str]]:
    """``(module, function or class)`` of the package -> the assignments of the blocks it holds."""
    import ast

    assignments_of = block_assignments(course)
    src = course.root / "helpers" / "src"
    holders: dict[tuple[str, str], set[str]] = {}
    for path in sorted({p for _, _, p in _markers(course.root / "helpers")}):
        text = path.read_text()
        module = ".".join(path.relative_to(src).with_suffix("").parts)
        starts = [(i, m["name"]) for i, line in enumerate(text.splitlines(), 1) if (m := BEGIN.match(line))]
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                for line, name in starts:
                    if node.lineno <= line <= (node.end_lineno or 0):
                        holders.setdefault((module, node.name), set()).update(assignments_of[name])
    return holders


def package_uses(*sources: str) -> set[tuple[str, str]]:
    """``(module, name)`` of every ``vaecourse`` function or class that code refers to, through
    its imports (``from vaecourse.tf import models`` ... ``models.build_decoder``; ``from
    vaecourse.tf.models import CVAE``). The sources are the cells of one notebook: an import in
    one serves the others. IPython's ``%`` and ``!`` lines are skipped; a cell that does not
    parse gives nothing."""
    import ast

    trees = []
    for source in sources:
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            trees.append(ast.parse(code))
        except SyntaxError:
            continue
    modules: dict[str, str] = {}  # local name -> module
    names: dict[str, tuple[str, str]] = {}  # local name -> (module, attribute)
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vaecourse"):
            for alias in node.names:
                local = alias.asname or alias.name
                modules[local] = f"{node.module}.{alias.name}"
                names[local] = (node.module or "", alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vaecourse"):
                    modules[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "vaecourse"
    used: set[tuple[str, str]] = set()
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.Name) and node.id in names:
            used.add(names[node.id])
        elif isinstance(node, ast.Attribute):
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                parts = [modules[base.id], *reversed(chain)]
                used.add((".".join(parts[:-1]), parts[-1]))
    return used


def prerequisites(course: Course, assignment: str) -> list[str]:
    """The other assignments whose answers the notebook of ``assignment`` uses from the package
    (its given code, its tests or its reference answers call a function that holds one of their
    blocks): it can be published only once they are past due."""
    import nbformat

    holders = block_holders(course)
    nb = nbformat.read(course.source_notebook(assignment), as_version=4)
    used = package_uses(*[c.source for c in nb.cells if c.cell_type == "code"])
    needed = set().union(*[holders.get(u, set()) for u in used]) - {assignment}
    return [a for a in course.assignments() if a in needed]


def release_date(course: Course, assignment: str) -> datetime | None:
    """When the notebook of ``assignment`` may be published: the latest due date of its
    prerequisites (None: from the start of the term)."""
    dates = [d for a in prerequisites(course, assignment) if (d := course.config.due.get(a)) is not None]
    return max(dates) if dates else None


def published_at(course: Course, when: datetime) -> list[str]:
    """The assignments whose notebooks are published at ``when`` (their prerequisites are past due)."""
    return [a for a in course.assignments() if (d := release_date(course, a)) is None or d <= when]


def build_at(course: Course, out: Path, when: datetime | None, grader: bool = False) -> tuple[Path, list[str]]:
    """The build students have at ``when`` (``None``: before the first due date): the blocks of
    every assignment not yet past due stripped."""
    done = set(past_due(course, when)) if when is not None else set()
    return build_for(course, out, open_blocks(course, set(course.assignments()) - done), grader=grader)
