"""How useful is the feedback of a failed test? Measured on mutants nobody wrote by hand.

For every function fill-in of the assignments given, each reference answer is mutated at one
place by an automatic operator (``+``/``-``, ``*``/``/``, ``**``, a numeric constant, a negation
dropped, ``exp``/``log``, ``sum``/``mean``, an ``axis``), a sample of the mutants is graded
through the real pipeline (sandboxed nbgrader autograde, grading profile), and every test cell
that fails is read as the feedback shows it (the cell's outputs, cleaned as for feedback).
Printed per assignment and in all:

* failing cells, and the share whose feedback names the function (in backquotes or as
  ``name(``) **and** a concrete discrepancy: a diagnosis with the input, the expected and the
  actual value, a catalogued mistake, or a test message with expected/got numbers;
* the same share for the tests' messages alone (without the diagnosis), in the same run;
* how often a catalogued mistake was named (it then gives the same results as the mutant on the
  test's inputs, so it is right in that sense) and how often the diagnosis said "same".

    python benchmarks/diagnosis.py --assignments kl_theory mnist_vae --per-fill-in 4 -j 2
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FUNCS = {"exp": "log", "log": "exp", "sum": "mean", "mean": "sum", "reduce_sum": "reduce_mean",
         "reduce_mean": "reduce_sum", "sqrt": "square", "square": "sqrt"}  # fmt: skip
BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult}


class _Sites(ast.NodeVisitor):
    def __init__(self) -> None:
        self.sites: list[tuple[str, ast.AST]] = []

    def visit_BinOp(self, node: ast.BinOp) -> None:  # noqa: N802
        if type(node.op) in BINOPS:
            self.sites.append(("binop", node))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:  # noqa: N802
        if isinstance(node.value, int | float) and not isinstance(node.value, bool):
            self.sites.append(("constant", node))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:  # noqa: N802
        if isinstance(node.op, ast.USub):
            self.sites.append(("negation", node))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:  # noqa: N802
        if node.attr in FUNCS:
            self.sites.append(("function", node))
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:  # noqa: N802
        if node.arg == "axis":
            self.sites.append(("axis", node))
        self.generic_visit(node)


class _Mutate(ast.NodeTransformer):
    def __init__(self, target: int) -> None:
        self.target, self.seen, self.what = target, -1, ""

    def _hit(self) -> bool:
        self.seen += 1
        return self.seen == self.target

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:  # noqa: N802
        self.generic_visit(node)
        if type(node.op) in BINOPS and self._hit():
            self.what = f"{type(node.op).__name__} -> {BINOPS[type(node.op)].__name__}"
            node.op = BINOPS[type(node.op)]()
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:  # noqa: N802
        if isinstance(node.value, int | float) and not isinstance(node.value, bool) and self._hit():
            new = {0: 1, 1: 2, 2: 1, 0.5: 1.0}.get(node.value, node.value * 2)
            self.what = f"constant {node.value} -> {new}"
            return ast.copy_location(ast.Constant(new), node)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:  # noqa: N802
        self.generic_visit(node)
        if isinstance(node.op, ast.USub) and self._hit():
            self.what = "a minus sign dropped"
            return node.operand
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:  # noqa: N802
        self.generic_visit(node)
        if node.attr in FUNCS and self._hit():
            self.what = f"{node.attr} -> {FUNCS[node.attr]}"
            node.attr = FUNCS[node.attr]
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.AST:  # noqa: N802
        self.generic_visit(node)
        if node.arg == "axis" and self._hit():
            self.what = "axis changed"
            node.value = ast.Constant(0 if not (isinstance(node.value, ast.Constant) and node.value.value == 0) else -1)
        return node


def mutants(source: str, name: str, per_fill_in: int, rng: random.Random) -> list[tuple[str, str]]:
    """Up to ``per_fill_in`` one-site mutants of the function ``name`` in ``source``: (what, source)."""
    tree = ast.parse(source)
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if fn is None:
        return []
    sites = _Sites()
    for stmt in fn.body:
        sites.visit(stmt)
    order = list(range(len(sites.sites)))
    rng.shuffle(order)
    out = []
    for target in order[:per_fill_in]:
        tree = ast.parse(source)
        fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
        mutate = _Mutate(target)
        fn.body = [mutate.visit(stmt) for stmt in fn.body]
        ast.fix_missing_locations(tree)
        text = ast.unparse(tree)
        if mutate.what and text != ast.unparse(ast.parse(source)):
            out.append((mutate.what, text))
    return out


NAMES = re.compile(r"`(\w+)`|\b(\w+)\(")
NUMBERS = re.compile(r"expected|got|differs|largest difference|should be|instead of", re.I)


def judge(text: str, function: str) -> tuple[bool, bool]:
    """(names the function, shows a concrete discrepancy) for a failing cell's feedback text."""
    named = any(function in (m.group(1) or m.group(2) or "") for m in NAMES.finditer(text)) or f"{function} " in text
    concrete = bool(NUMBERS.search(text)) and bool(re.search(r"\d", text))
    return named, concrete


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", nargs="+", default=["kl_theory", "mnist_vae", "cifar10_vae", "mmd_vae",
                                                             "celeba_vae"])
    parser.add_argument("--per-fill-in", type=int, default=3)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the per-cell findings as JSON")
    args = parser.parse_args()

    import nbformat

    from autograder.course import Course
    from autograder.nb.cells import fill_in_target
    from autograder.pipeline.grade import prepare_gradebook
    from autograder.pipeline.settings import grader_roots
    from autograder.pipeline.tracebacks import ANSI, CleanTracebacks
    from autograder.proofs.build import SampleCase, build_notebook, read_spec, release_of
    from autograder.proofs.verify import fresh_course, grade_cases

    rng = random.Random(args.seed)
    course = fresh_course(Course.default(), "bench-diagnosis")
    prepare_gradebook(course, args.assignments)
    cases, meta = [], {}
    for assignment in args.assignments:
        spec, release = read_spec(course, assignment), release_of(course, assignment)
        for gid, tests in sorted(spec.owned.items()):
            reference = spec.reference_source(gid)
            target = fill_in_target(reference, gid)
            if not tests or target is None or target["kind"] != "function":
                continue
            for what, source in mutants(reference, target["target"], args.per_fill_in, rng):
                student = f"m{len(cases):04d}"
                cases.append(SampleCase(student, assignment, "mistake", f"{gid}: {what}",
                                        build_notebook(release, spec, {gid: source}), spec.expected(frozenset())))  # fmt: skip
                meta[(assignment, student)] = (gid, target["target"], what, sorted(tests))
    print(f"{len(cases)} mutants of {len({(m[0]) for m in meta.values()})} fill-ins; grading ...", flush=True)
    start = time.perf_counter()
    run = grade_cases(course, cases, args.jobs)
    seconds = time.perf_counter() - start
    clean = CleanTracebacks(roots=grader_roots(course))
    rows = []
    for outcome in run.outcomes:
        key = (outcome.case.assignment, outcome.case.student)
        gid, function, what, tests = meta[key]
        path = course.autograded / outcome.case.student / outcome.case.assignment / f"{outcome.case.assignment}.ipynb"
        if not path.is_file():
            continue
        nb, _ = clean.preprocess(nbformat.read(path, as_version=4), {})
        by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
        for test in tests:
            if outcome.actual.get(test) is None or outcome.actual[test] >= outcome.case.expected[test]:
                continue  # this test passed: an equivalent mutant, or one this test cannot see
            outs = by_id[test].get("outputs", [])
            full = ANSI.sub("", "\n".join(str(o.get("text", "")) + str(o.get("evalue", "")) for o in outs))
            plain = "\n".join(line for line in full.splitlines() if not line.startswith("Diagnosis:"))
            diagnosis = next((line for line in full.splitlines() if line.startswith("Diagnosis:")), "")
            # a concrete discrepancy: the test's message, or a diagnosis that names a mistake or
            # shows a differing call ("returns what is expected" shows none)
            shows = "behaves like" in diagnosis or "called with" in diagnosis
            with_diagnosis = (judge(full, function)[0], judge(plain, function)[1] or shows)
            rows.append({"assignment": key[0], "fill_in": gid, "mutation": what, "test": test,
                         "with": with_diagnosis, "without": judge(plain, function),
                         "mistake": "behaves like" in diagnosis, "same": "returns what is expected" in diagnosis,
                         "diagnosis": diagnosis[:300]})  # fmt: skip

    def share(items: list[dict], key: str) -> str:
        good = sum(1 for r in items if all(r[key]))
        return f"{good}/{len(items)} = {100 * good / max(1, len(items)):.0f}%"

    print(f"graded in {seconds:.0f} s wall")
    for assignment in [*args.assignments, "all"]:
        items = [r for r in rows if assignment in ("all", r["assignment"])]
        if not items:
            continue
        print(f"{assignment:12s} failing cells {len(items):4d}; names the function and a concrete discrepancy: "
              f"with the diagnosis {share(items, 'with')}, the tests' messages alone {share(items, 'without')}; "
              f"a catalogued mistake named {sum(r['mistake'] for r in items)}, 'same on these inputs' "
              f"{sum(r['same'] for r in items)}")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
