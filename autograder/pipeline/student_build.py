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
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

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
