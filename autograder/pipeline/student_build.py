"""A student copy of the helpers package, without the answers to graded fill-ins.

The ``vaecourse`` package holds the reference implementations that the notebooks build on,
including the functions students write themselves. Their bodies are marked in the source::

    def reparameterize(mu, logvar):
        \"\"\"...\"\"\"
        # BEGIN FILL-IN reparameterize
        ...reference code...
        # END FILL-IN reparameterize

:func:`build_student_helpers` copies ``helpers/`` and replaces every marked body (except the
names in ``keep``, e.g. fill-ins whose deadline has passed) by
``raise NotImplementedError(...)`` at the same indentation. The copy is checked to compile;
publish it (e.g. as its own branch or repository) and point the notebooks' install cell at it.

Each fill-in belongs to one assignment (:func:`fill_in_owners`). Grading uses, per
assignment, the build its students had (:func:`prepare_grading_builds`: that assignment's
fill-ins and later ones stripped), and ``publish`` the build of the day (fill-ins of
assignments not yet past their due date stripped, :func:`past_due`).
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ..course import Course

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN FILL-IN (?P<name>\S+)\s*$")
END = re.compile(r"^\s*# END FILL-IN (?P<name>\S+)\s*$")
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", "build", "dist")


def strip_fill_ins(source: str, keep: set[str] | frozenset[str] = frozenset(), path: str = "") -> tuple[str, list[str]]:
    """``source`` with its fill-in bodies replaced; also the names replaced.

    Raises:
        ValueError: for unbalanced markers or a fill-in at module level.
    """
    out: list[str] = []
    stripped: list[str] = []
    current: str | None = None
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if current is not None:
                raise ValueError(f"{path}:{number}: fill-in {begin['name']} starts inside {current}")
            current, indent = begin["name"], begin["indent"]
            if current in keep:
                out.append(line)
                continue
            if not indent:
                raise ValueError(f"{path}:{number}: fill-in {current} is not inside a function")
            out.append(f"{indent}# FILL-IN {current}: your notebook's answer replaces this\n")
            out.append(f'{indent}raise NotImplementedError("{current}: write it in the notebook")\n')
            stripped.append(current)
        elif end:
            if end["name"] != current:
                raise ValueError(f"{path}:{number}: END FILL-IN {end['name']} does not close {current}")
            if current in keep:
                out.append(line)
            current = None
        elif current is None or current in keep:
            out.append(line)
    if current is not None:
        raise ValueError(f"{path}: fill-in {current} is never closed")
    return "".join(out), stripped


def build_student_helpers(helpers: Path, out: Path, keep: set[str] | None = None) -> tuple[Path, list[str]]:
    """Copy ``helpers`` to ``out`` with the fill-in bodies replaced; return (out, names)."""
    keep = keep or set()
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(helpers, out, ignore=IGNORE)
    stripped: list[str] = []
    for path in sorted(out.rglob("*.py")):
        text = path.read_text()
        new, names = strip_fill_ins(text, keep, str(path))
        if names:
            compile(new, str(path), "exec")  # the copy must stay importable
            path.write_text(new)
            stripped += names
    return out, stripped


# ---- which assignment each fill-in belongs to ---------------------------------------------
def fill_in_markers(helpers: Path) -> list[tuple[str, Path]]:
    """Every ``# BEGIN FILL-IN <name>`` of the package: (name, file)."""
    found = []
    for path in sorted((Path(helpers) / "src").rglob("*.py")):
        for line in path.read_text().splitlines():
            if m := BEGIN.match(line):
                found.append((m["name"], path))
    return found


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


def stripped_for(course: Course, assignment: str | None) -> set[str]:
    """Fill-ins a student build for ``assignment`` hides: its own and those of later ones.

    ``None``: every fill-in (the build before the first assignment).
    """
    order = course.assignments()
    later = set(order if assignment is None else order[order.index(assignment):])
    return {name for name, owner in fill_in_owners(course).items() if owner in later}


def past_due(course: Course, when: datetime | None = None) -> list[str]:
    """Assignments whose due date in ``course.toml`` has passed at ``when`` (default: now)."""
    when = when or datetime.now(UTC)
    return [a for a in course.assignments() if (due := course.config.due.get(a)) is not None and due <= when]


def build_for(course: Course, out: Path, strip: set[str]) -> tuple[Path, list[str]]:
    """A student build that hides the fill-ins ``strip`` (all others kept), with package
    metadata (``*.dist-info``) next to the package, so that ``importlib.metadata`` finds this
    build's version first when ``out/src`` is on ``PYTHONPATH``."""
    every = {name for name, _ in fill_in_markers(course.root / "helpers")}
    out, names = build_student_helpers(course.root / "helpers", out, keep=every - set(strip))
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
        out, _ = build_for(course, grading_build(course, assignment), stripped_for(course, assignment))
        paths[assignment] = out / "src"
    return paths


def fill_in_api(course: Course, assignment: str) -> frozenset[str]:
    """The package's functions and classes that hold a fill-in of ``assignment`` (what the
    scan flags when an answer imports or calls them)."""
    import ast

    owners = fill_in_owners(course)
    mine = {name for name, owner in owners.items() if owner == assignment}
    names: set[str] = set()
    for path in sorted({p for n, p in fill_in_markers(course.root / "helpers") if n in mine}):
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
