"""The autograder's layers: imports point one way only (proofs -> pipeline -> sandbox -> nb).

Read with ``ast`` from the source, so imports inside functions (lazy imports) count too.
Layers, lowest first; a module may import its own layer and the layers below it:

    nb        notebook basics (cells, the assignment spec)
    sandbox   grading kernels (no course code: settings come in as arguments)
    course    where the course's files live (a leaf: imports nothing of ours)
    pipeline  the class pipeline
    proofs    sample submissions and their expected scores
    top       cli, __main__, nbgrader_config

and no group of modules imports itself in a circle. Package ``__init__`` files import
nothing; the kernel launcher and Landlock use the standard library only; sample files
import only :mod:`autograder.proofs.sample`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
LAYERS = ("nb", "sandbox", "course", "pipeline", "proofs", "top")
TOP = {"cli", "__main__", "nbgrader_config"}
SKIP = {"tests", "samples", "course"}  # tests, sample data, the git-ignored working folder


def modules(package: Path) -> dict[str, Path]:
    """Dotted name -> file of every module of the package (tests and data left out)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.parts[0] in SKIP and len(rel.parts) > 1:
            continue
        parts = [package.name, *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its file."""
    root = name.split(".")[0]
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def add(target: str) -> None:
        # the longest known prefix: ``from .cells import x`` names a module, ``x`` is an attribute
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == root:
                    add(alias.name)
                elif f"{here}.{alias.name}" in known:  # a script's sibling (the launcher)
                    add(f"{here}.{alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").split(".")[0] == root:
                module = node.module or ""
            else:
                continue
            for alias in node.names:
                add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module)
    return found


def layer(name: str) -> str | None:
    """The layer of a module (None for the package itself)."""
    parts = name.split(".")[1:]
    if not parts:
        return None
    return "top" if parts[0] in TOP else parts[0]


def graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    found = modules(package)
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def packages(package: Path) -> set[str]:
    """The names of the package and its subpackages (their ``__init__`` files)."""
    return {name for name, path in modules(package).items() if path.name == "__init__.py"}


def wrong_way(edges: dict[str, set[str]], inits: set[str]) -> list[str]:
    """Imports that point to a higher layer, or out of a module that must import nothing
    (``course`` and the packages' ``__init__`` files, named in ``inits``)."""
    problems = []
    for source, targets in edges.items():
        for target in sorted(targets):
            a, b = layer(source), layer(target)
            if a is None or a == "course" or source in inits or a not in LAYERS:
                problems.append(f"{source} imports {target} (it must import nothing of ours)")
            elif b is None or b not in LAYERS or LAYERS.index(b) > LAYERS.index(a):
                problems.append(f"{source} ({a}) imports {target} ({b}): the wrong way")
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first search (each reported once)."""
    found, seen = [], set()
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                loop = stack[stack.index(nxt):]
                key = frozenset(loop)
                if key not in seen:
                    seen.add(key)
                    found.append([*loop, nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found


# ---- the autograder -------------------------------------------------------------------
def test_every_module_belongs_to_a_layer() -> None:
    names = modules(PACKAGE)
    assert {"autograder.nb.cells", "autograder.sandbox.kernel", "autograder.pipeline.run",
            "autograder.proofs.sample", "autograder.cli"} <= set(names)  # fmt: skip
    assert [n for n in names if n != "autograder" and layer(n) not in LAYERS] == []


def test_imports_point_down_the_layers() -> None:
    assert wrong_way(graph(PACKAGE), packages(PACKAGE)) == []


def test_no_import_cycles() -> None:
    assert cycles(graph(PACKAGE)) == []


def test_sandbox_knows_no_course_code() -> None:
    edges = graph(PACKAGE)
    for name, targets in edges.items():
        if layer(name) == "sandbox":
            assert all(layer(t) in ("sandbox", "nb") for t in targets), (name, targets)


@pytest.mark.parametrize("script", ["launcher.py", "landlock.py", "confine.py", "zygote.py", "reaper.py", "cgroups.py"])
def test_launcher_uses_the_standard_library_only(script: str) -> None:
    """The launcher (and the zygote) run before the kernel, in a bare interpreter: stdlib and
    their siblings only (the zygote imports ipykernel after the fork, as the kernel)."""
    tree = ast.parse((PACKAGE / "sandbox" / script).read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    siblings = {"landlock", "confine", "zygote", "reaper", "cgroups"}
    assert names - set(sys.stdlib_module_names) - {"__future__", *siblings, "ipykernel"} == set()


def test_sample_files_import_only_the_sample_format() -> None:
    for path in sorted((PACKAGE / "samples").glob("*/samples.py")):
        tree = ast.parse(path.read_text())
        ours = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("autograder")}
        ours |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names if a.name.startswith("autograder")}
        assert ours <= {"autograder.proofs.sample"}, (path, ours)


# ---- the checker catches what it must -----------------------------------------------------
def _fake(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "autograder"
    for rel, text in {"__init__.py": "", "nb/__init__.py": "", "sandbox/__init__.py": "",
                      "pipeline/__init__.py": "", **files}.items():  # fmt: skip
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_checker_finds_a_lazy_import_the_wrong_way(tmp_path: Path) -> None:
    root = _fake(tmp_path, {
        "nb/cells.py": "def f():\n    from ..pipeline.run import grade_class\n    return grade_class\n",
        "pipeline/run.py": "from ..nb.cells import f\n\ndef grade_class():\n    pass\n",
        "course.py": "import autograder.nb.cells\n",
        "sandbox/launcher.py": "import landlock\n",
        "sandbox/landlock.py": "",
        "sandbox/__init__.py": "from .launcher import main\n",
    })  # fmt: skip
    edges = graph(root)
    assert edges["autograder.sandbox.launcher"] == {"autograder.sandbox.landlock"}
    problems = wrong_way(edges, packages(root))
    assert any(p.startswith("autograder.nb.cells (nb) imports autograder.pipeline.run") for p in problems)
    assert any(p.startswith("autograder.course imports autograder.nb.cells") for p in problems)
    assert any(p.startswith("autograder.sandbox imports autograder.sandbox.launcher") for p in problems)
    assert len(problems) == 3, problems
    assert cycles(edges) == [["autograder.nb.cells", "autograder.pipeline.run", "autograder.nb.cells"]]


def test_checker_finds_a_cycle_inside_a_layer(tmp_path: Path) -> None:
    root = _fake(tmp_path, {
        "pipeline/a.py": "from . import b\n",
        "pipeline/b.py": "def g():\n    from .c import x\n",
        "pipeline/c.py": "from autograder.pipeline.a import y\n",
    })  # fmt: skip
    edges = graph(root)
    assert wrong_way(edges, packages(root)) == []
    assert cycles(edges) == [["autograder.pipeline.a", "autograder.pipeline.b", "autograder.pipeline.c",
                              "autograder.pipeline.a"]]  # fmt: skip
