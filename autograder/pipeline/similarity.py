"""Similar answers across a class, for a human look (the class report's last part).

Each student's fill-in cells of an assignment (the code cells they write; the written answers
separately, as text) are compared with every other student's by copydetect
(https://github.com/blingenf/copydetect, Stanford MOSS's winnowing): code is tokenized first,
so renamed variables, functions and strings, changed comments and spacing do not hide a copy;
fingerprints are k-grams of the tokenized code, so moved lines and blocks still match piece by
piece. What the release gives (the cell's skeleton: signature, docstring, stub) and the
course's model answer (the source notebook's solution) are boilerplate: their fingerprints
are removed from every document, so students who all wrote the obvious code are not similar
for it, and what is compared is what each student wrote beyond it.

A pair is listed when the share of one student's remaining code found in the other's reaches
the threshold and the overlap is at least :data:`MIN_OVERLAP` tokenized characters. Nothing
here changes a grade; the list is for a grader to read side by side (the report shows both
versions with the shared parts marked). What it cannot see is said in :data:`LIMITS`.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field

import nbformat
import numpy as np
from nbformat import NotebookNode

from ..course import Course
from ..nb.cells import grade_id, is_code_fill_in, is_written_answer
from ..nb.spec import AssignmentSpec

#: copydetect's defaults: matches shorter than NOISE are ignored, longer than GUARANTEE found
NOISE, GUARANTEE = 25, 30
#: the share of a student's own (non-boilerplate) code found in the other's from which a pair is listed
DEFAULT_THRESHOLD = 0.6
#: tokenized characters two students must share at least (a line or two of code)
MIN_OVERLAP = 60
#: a student with less own code than this (tokenized characters) is not compared
MIN_OWN = 40
#: pairs kept (the highest scores) with their marked-up code; the others above the threshold are counted
MAX_PAIRS = 100
LIMITS = (
    "What this cannot see: copies that were rewritten (another algorithm, another library call, "
    "the loop turned into a vectorized expression), answers taken from the same outside source "
    "(a website, a chatbot, last year's solutions: two students who used it look alike only "
    "if they used it alike, and one student alone looks like nobody), copies of the model "
    "answer or of the release's code (removed as boilerplate, so a leaked model answer cannot "
    "be told from honest work), and fill-ins too short to carry anything of their own (a "
    "one-line answer). Written answers are compared as plain text: paraphrase hides them. A "
    "listed pair is a reason to read both, not evidence: students who worked together as "
    "allowed, or who followed the same hint, look the same."
)


@dataclass
class Document:
    """One student's answers of one kind (code or written) in one assignment."""

    student: str
    text: str
    cells: list[tuple[str, int, int]]  # (grade id, start, end) of each cell in ``text``
    fingerprint: object = None  # copydetect.CodeFingerprint, boilerplate removed
    own: int = 0  # tokenized characters left after the boilerplate


@dataclass
class SimilarPair:
    """Two students whose answers overlap beyond the threshold."""

    kind: str  # "code" or "written"
    a: str
    b: str
    share_a: float  # share of a's own code found in b's
    share_b: float
    overlap: int  # tokenized characters shared
    cells: list[str]  # grade ids where the shared parts are (in a's notebook)
    marked_a: str  # a's answers as HTML, shared parts in <mark>
    marked_b: str

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)


@dataclass
class SimilarityResult:
    """Every listed pair of an assignment, and what was compared."""

    assignment: str
    threshold: float
    compared: dict[str, int] = field(default_factory=dict)  # kind -> students compared
    too_short: dict[str, list[str]] = field(default_factory=dict)  # kind -> students with too little own text
    pairs: list[SimilarPair] = field(default_factory=list)  # the MAX_PAIRS highest above the threshold
    above: int = 0  # pairs above the threshold in all (more than ``pairs`` holds when over MAX_PAIRS)
    scores: dict[str, list[float]] = field(default_factory=dict)  # kind -> every pair's score (the histogram)


def _documents(notebook: NotebookNode, kind: str) -> tuple[str, list[tuple[str, int, int]]]:
    parts: list[str] = []
    cells: list[tuple[str, int, int]] = []
    at = 0
    for cell in notebook.cells:
        gid = grade_id(cell)
        wanted = is_code_fill_in(cell) if kind == "code" else is_written_answer(cell)
        if not gid or not wanted:
            continue
        # written answers are plain text: case and spacing do not make an answer one's own
        text = (cell.source.rstrip() if kind == "code" else " ".join(cell.source.lower().split())) + "\n\n"
        cells.append((gid, at, at + len(text)))
        parts.append(text)
        at += len(text)
    return "".join(parts), cells


def _fingerprint(text: str, kind: str, boilerplate: set[int]):  # -> copydetect.CodeFingerprint
    from copydetect import CodeFingerprint
    from copydetect.utils import get_token_coverage

    code = kind == "code"
    fp = CodeFingerprint("answer.py" if code else "answer.txt", NOISE, GUARANTEE - NOISE + 1,
                         filter=code, language="python" if code else None, fp=io.StringIO(text))  # fmt: skip
    if boilerplate:
        fp.hashes = {h for h in fp.hashes if h not in boilerplate}
        fp.hash_idx = {h: i for h, i in fp.hash_idx.items() if h not in boilerplate}
        fp.token_coverage = get_token_coverage(fp.hash_idx, NOISE, len(fp.filtered_code))
    return fp


def _boilerplate(course: Course, assignment: str, kind: str) -> set[int]:
    """Fingerprints of the release's cells and the model answers (what nobody wrote on their own)."""
    release = nbformat.read(course.grading_release_notebook(assignment), as_version=4)
    spec = AssignmentSpec.read(course.source_notebook(assignment))
    model = nbformat.v4.new_notebook(cells=[nbformat.from_dict({**spec.solutions[g], "source": spec.reference_source(g)})
                                            for g in spec.solutions])  # fmt: skip
    texts = [_documents(release, kind)[0], _documents(model, kind)[0]]
    hashes: set[int] = set()
    for text in texts:
        if text.strip():
            hashes |= set(_fingerprint(text, kind, set()).hashes)
    return hashes


def _marked(doc: Document, slices: np.ndarray) -> tuple[str, list[str]]:
    """``doc``'s text as HTML with the shared slices in <mark>, and the cells they touch."""
    import html

    pairs = zip(slices[0], slices[1], strict=True) if len(slices) == 2 else ()
    spans = sorted((int(s), int(e)) for s, e in pairs if e > s)
    out, at = [], 0
    shared = dict.fromkeys((g for g, _, _ in doc.cells), 0)
    for start, end in spans:
        start = max(start, at)
        if end <= start:
            continue
        out.append(html.escape(doc.text[at:start]))
        out.append(f"<mark>{html.escape(doc.text[start:end])}</mark>")
        at = end
        for g, s, e in doc.cells:  # characters of this cell in the shared part (not spaces)
            shared[g] += len("".join(doc.text[max(s, start):min(e, end)].split()))
    out.append(html.escape(doc.text[at:]))
    # a match's ends spill a few characters into the next cell: a cell counts from NOISE on
    return "".join(out), [g for g, n in shared.items() if n >= NOISE]


def _read_submission(course: Course, assignment: str, student: str) -> NotebookNode | None:
    path = course.submitted / student / assignment / f"{assignment}.ipynb"
    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 (a broken file is in the collect report; nothing to compare)
        return None


def class_similarity(course: Course, assignment: str, threshold: float = DEFAULT_THRESHOLD,
                     kinds: tuple[str, ...] = ("code", "written")) -> SimilarityResult:  # fmt: skip
    """Compare every pair of ``assignment``'s submissions (``submitted/``, as repaired at
    collect) and list those above ``threshold`` (see the module docstring)."""
    from copydetect.detector import compare_files

    result = SimilarityResult(assignment, threshold)
    found: list[tuple[float, str, Document, Document, float, float, int, object, object]] = []
    students = sorted(p.parent.parent.name for p in course.submitted.glob(f"*/{assignment}/{assignment}.ipynb"))
    notebooks = {s: nb for s in students if (nb := _read_submission(course, assignment, s)) is not None}
    for kind in kinds:
        boilerplate = _boilerplate(course, assignment, kind)
        docs: list[Document] = []
        for student, nb in notebooks.items():
            text, cells = _documents(nb, kind)
            if not cells:
                continue
            doc = Document(student, text, cells)
            doc.fingerprint = _fingerprint(text, kind, boilerplate)
            doc.own = int(doc.fingerprint.token_coverage)
            if doc.own < MIN_OWN:
                result.too_short.setdefault(kind, []).append(student)
                continue
            docs.append(doc)
        result.compared[kind] = len(docs)
        scores = result.scores.setdefault(kind, [])
        for da, db in itertools.combinations(docs, 2):
            overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(da.fingerprint, db.fingerprint)
            # a match shorter than MIN_OVERLAP is no evidence, whatever share of a short answer it is
            score = max(float(share_a), float(share_b)) if overlap >= MIN_OVERLAP else 0.0
            scores.append(score)
            if score < threshold or not overlap:
                continue
            found.append((score, kind, da, db, float(share_a), float(share_b), int(overlap), slices_a, slices_b))
    found.sort(key=lambda f: -f[0])
    result.above = len(found)
    for _, kind, da, db, share_a, share_b, overlap, slices_a, slices_b in found[:MAX_PAIRS]:
        marked_a, cells = _marked(da, slices_a)
        marked_b, _ = _marked(db, slices_b)
        result.pairs.append(SimilarPair(kind, da.student, db.student, share_a, share_b, overlap, cells,
                                        marked_a, marked_b))  # fmt: skip
    return result
