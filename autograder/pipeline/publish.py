"""``python -m autograder publish OUT``: the student distribution of a term.

Following nbgrader's convention, the instructor repository (this one: sources, model answers,
hidden tests, rubrics, samples) stays private; what students may see goes to a public
repository, the one ``course.toml`` names (``[student_package] repository``). :func:`publish`
writes exactly that tree::

    OUT/README.md                  for students: the assignments, due dates, Colab links, how to run
    OUT/notebooks/<a>/<a>.ipynb    the releases (nbgrader generate_assignment, fresh from solutions/)
                                   of the assignments whose prerequisites are past due
    OUT/helpers/                   the student build of vaecourse: the fill-ins and answers of
                                   assignments not yet past their due date (course.toml) stripped,
                                   no grader-only test kit

and nothing else. A notebook that builds on an earlier assignment's answers from the package (its
given code or reference calls a function holding one of that assignment's blocks:
:func:`~autograder.pipeline.student_build.prerequisites`) is published once that assignment is
past due, so that every published notebook runs on the build published with it and no notebook
needs an answer still hidden. It is versioned: the package's version and the tag (``ref``) the
setup cells install from are in the README; push the tree to the public repository and tag it
with that ref, so a term's students all install the same code. Publishing again after a due date
(with a new ``ref``) restores the blocks whose answers are then out and adds the notebooks that
waited for them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..course import Course
from .release import generate
from .setup_cell import badge_url, package_version
from .student_build import build_at, past_due, published_at, release_date

#: what may already be in OUT (a clone of the public repository): kept as is
KEPT = (".git",)


@dataclass
class Published:
    """What :func:`publish` wrote."""

    out: Path
    version: str
    ref: str
    notebooks: list[Path]
    stripped: list[str]  # fill-ins and answers replaced by NotImplementedError
    kept: list[str]  # assignments past their due date (their fill-ins are in the build)
    waiting: list[str]  # assignments whose notebooks wait for a prerequisite's due date


def publish(course: Course, out: Path, *, when: datetime | None = None, force: bool = False) -> Published:
    """Write the student distribution of ``course`` into ``out`` (see the module docstring).

    ``when`` decides which due dates have passed (default: now). ``out`` must be empty (a
    ``.git`` folder aside) unless ``force``, which replaces everything in it but ``.git``.

    Raises:
        FileExistsError: ``out`` holds files and ``force`` is not set.
    """
    out = Path(out).resolve()
    if out.is_relative_to(course.root.resolve()) and out != course.root.resolve():
        inside = out.relative_to(course.root.resolve()).parts[0]
        if inside in {"solutions", "notebooks", "helpers", "autograder"}:
            raise ValueError(f"refusing to publish into the course's own {inside}/ folder: {out}")
    present = [p for p in out.iterdir() if p.name not in KEPT] if out.is_dir() else []
    if present and not force:
        raise FileExistsError(
            f"{out} is not empty ({', '.join(sorted(p.name for p in present)[:5])}...): publish "
            "into an empty folder or a clone of the public repository, or pass --force to replace "
            "its contents (.git is kept)"
        )
    for path in present:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    when = when or datetime.now(UTC)
    done = past_due(course, when)
    _, stripped = build_at(course, out / "helpers", when)
    # the build's package metadata is for grading kernels; an install makes its own
    for info in (out / "helpers" / "src").glob("*.dist-info"):
        shutil.rmtree(info)
    ready = published_at(course, when)
    notebooks = [generate(course, a, out / "notebooks") for a in ready]
    waiting = [a for a in course.assignments() if a not in ready]
    version = package_version(course.root / "helpers")
    (out / "README.md").write_text(student_readme(course, version, done, waiting), encoding="utf-8")
    return Published(out, version, course.config.ref, notebooks, sorted(stripped), done, waiting)


def student_readme(course: Course, version: str, done: list[str], waiting: list[str] | None = None) -> str:
    """The README of the published tree, for students."""
    waiting = waiting or []
    cfg = course.config
    title = f"{cfg.title} ({cfg.term})" if cfg.term else cfg.title
    rows = []
    for a in course.assignments():
        due = cfg.due.get(a)
        when = due.strftime("%Y-%m-%d %H:%M %z") if due else "see the course site"
        if a in waiting:
            opens = release_date(course, a)
            since = opens.strftime("%Y-%m-%d %H:%M %z") if opens else "later"
            rows.append(f"| `{a}` | {when} | published after {since} | (not yet) |")
            continue
        rows.append(f"| `{a}` | {when} | [Open in Colab]({badge_url(cfg, a)}) | "
                    f"[notebook](notebooks/{a}/{a}.ipynb) |")  # fmt: skip
    lines = [
        f"# {title}",
        "",
        f"The assignments of the course, version {version} (tag `{cfg.ref}`).",
        "",
        "| assignment | due | open | file |",
        "|---|---|---|---|",
        *rows,
        "",
        "## How to work on an assignment",
        "",
        "1. Open the notebook in Colab from its link and choose a GPU runtime (*Runtime → Change",
        "   runtime type*). Local Jupyter, JupyterHub and Kaggle work too: download the notebook.",
        "2. Run the first cell. It installs the course's helper package `vaecourse` in the version",
        "   of this term when it is missing (or another version), and prints what it did.",
        "3. Fill in the cells marked `YOUR CODE HERE` and `YOUR ANSWER HERE`; the cell below each",
        "   code answer checks it (more tests run when the notebook is graded).",
        "4. Run the whole notebook from the top, download it as `.ipynb` and upload it to the",
        "   course site. Do not rename the notebook's functions or delete its cells.",
        "",
        "## The helper package",
        "",
        "`helpers/` holds `vaecourse`: data loaders, plots, training loops and the tests' checks.",
        "The functions you write in an assignment are not in it (they raise `NotImplementedError`);",
        "grading runs your notebook against this package, so import your own code, not the package's.",
        "To install it by hand: `pip install ./helpers` in a clone of this repository.",
        "",
    ]
    if done:
        lines += [f"Assignments already past their due date (their answers are in the package): "
                  f"{', '.join(done)}.", ""]  # fmt: skip
    if waiting:
        lines += ["Some assignments build on the package's answers to earlier ones: their notebooks are",
                  "published here once those are past due (the table says when).", ""]  # fmt: skip
    return "\n".join(lines)
