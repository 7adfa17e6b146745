"""The format of sample submissions, and the catalogue of common mistakes they make.

Each assignment's ``samples.py`` (written by the notebook's author) defines ``SAMPLES``, a
list of :class:`Sample`: a common mistake (with the tests it must fail) or an alternative
correct answer. :mod:`autograder.proofs.build` turns them into notebooks;
:func:`load_samples_file` reads them, and the grader's diagnosis of failed tests
(:mod:`autograder.pipeline.diagnose`) uses the mistakes as its catalogue.
``samples.py`` files import this module as :mod:`autograder.proofs.sample`.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("mistake", "alternative")
NAME = re.compile(r"[a-z0-9_]+")
RESERVED = ("reference", "blank")


@dataclass(frozen=True)
class Sample:
    """One sample submission: a common mistake or an alternative correct answer.

    ``answers`` maps solution cells (grade ids) to their full new source; ``fails`` names
    the test cells that must lose all their points (every other test keeps all of them).
    """

    name: str
    kind: str
    description: str
    answers: dict[str, str]
    fails: frozenset[str] | set[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name) or self.name in RESERVED:
            raise ValueError(f"sample name {self.name!r}: use [a-z0-9_]+, not {RESERVED}")
        if self.kind not in KINDS:
            raise ValueError(f"sample {self.name}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.kind == "alternative" and self.fails:
            raise ValueError(f"sample {self.name}: an alternative answer cannot fail tests")
        if self.kind == "mistake" and not self.fails:
            raise ValueError(f"sample {self.name}: a mistake must name the tests it fails")
        if not self.answers:
            raise ValueError(f"sample {self.name}: no answers given")
        object.__setattr__(self, "fails", frozenset(self.fails))


def function_cell(signature: str, body: str) -> str:
    """A solution cell ``def <signature>:`` with ``body`` indented under it (for samples.py).

    A one-line body that is not a ``return`` or an ``import`` is taken as the returned
    expression, so samples can write ``"a + b"`` for ``return a + b``.
    """
    lines = body.strip("\n").splitlines()
    if len(lines) == 1 and not lines[0].startswith(("return", "import")):
        lines = ["return " + lines[0]]
    return f"def {signature}:\n" + "\n".join("    " + line for line in lines) + "\n"


def load_samples_file(path: Path, label: str = "samples") -> list[Sample]:
    """``SAMPLES`` of one ``samples.py`` (``[]`` when the file does not exist).

    Raises:
        TypeError: ``SAMPLES`` holds something that is not a :class:`Sample`.
        ValueError: two samples share a name.
    """
    path = Path(path)
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location(f"_samples_{label}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    samples = list(getattr(module, "SAMPLES", []))
    for sample in samples:
        if not isinstance(sample, Sample):
            raise TypeError(f"{path}: SAMPLES holds a {type(sample).__name__}, not a Sample")
    names = [s.name for s in samples]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{path}: duplicate sample names {sorted(duplicates)}")
    return samples
