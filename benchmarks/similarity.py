"""The similarity check's cost for a class: seconds for N students of one assignment.

A synthetic class of one real assignment: each student's code fill-ins are, cell by cell,
the model answer or one of the assignment's sample answers (mistakes and alternatives), with
the names the cell assigns renamed at random; written answers are left as released. Then
:func:`autograder.pipeline.similarity.class_similarity` compares every pair (N·(N−1)/2), as
``python -m autograder report`` does. Printed per class size: wall and CPU seconds, pairs per
second, and how many pairs were listed (in a class built from a few sample answers many are:
the count says nothing about a real class, the time does).

    python benchmarks/similarity.py --assignment mnist_vae --students 50 100 200

The machine is shared: read the CPU seconds next to the wall seconds.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _renamed(source: str, rng: random.Random) -> str:
    """``source`` with every name it assigns (not its functions' parameters) renamed."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for name in sorted(names):
        new = f"{name[:3]}_{rng.randrange(10**6)}"
        source = re.sub(rf"\b{re.escape(name)}\b", new, source)
    return source


def main() -> None:
    """Build the classes and time the check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--assignment", default="mnist_vae")
    parser.add_argument("--students", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from autograder.course import Course
    from autograder.pipeline.grade import prepare_gradebook
    from autograder.pipeline.similarity import class_similarity
    from autograder.proofs.build import build_notebook, load_samples, read_spec, release_of

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="vaecourse-similarity-") as tmp:
        course = Course.default().with_work(Path(tmp) / "work")
        prepare_gradebook(course, [args.assignment])
        release, spec = release_of(course, args.assignment), read_spec(course, args.assignment)
        variants: dict[str, list[str]] = {g: [spec.reference_source(g)] for g in spec.solutions if spec.is_code(g)}
        for sample in load_samples(course, args.assignment):
            for gid, text in sample.answers.items():
                if gid in variants:
                    variants[gid].append(text)
        print(f"{args.assignment}: {len(variants)} code fill-ins, "
              f"{sum(len(v) for v in variants.values())} answer variants; load {os.getloadavg()[0]:.1f}")  # fmt: skip
        for n in args.students:
            for old in course.submitted.glob("*"):
                shutil.rmtree(old)
            for i in range(n):
                answers = {g: _renamed(rng.choice(v), rng) for g, v in variants.items()}
                path = course.submitted / f"{i:05d}" / args.assignment / f"{args.assignment}.ipynb"
                path.parent.mkdir(parents=True)
                nbformat.write(build_notebook(release, spec, answers), path)
            t0, c0 = time.perf_counter(), time.process_time()
            result = class_similarity(course, args.assignment)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            pairs = n * (n - 1) // 2
            print(f"{n:5d} students ({pairs} pairs): {wall:7.1f} s wall, {cpu:7.1f} CPU-s, "
                  f"{pairs / max(wall, 1e-9):7.0f} pairs/s; {result.above} pairs above the threshold; "
                  f"load {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
