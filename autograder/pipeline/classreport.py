"""The class report (``python -m autograder report``): where the class stands, on one HTML page.

Per assignment, from the gradebook and the grading reports: the score distribution (a
histogram), the pass rate of every test (grade cell), the tests most students fail and the
mistakes diagnosed in them, the written answers still waiting for a grader, late work, and
the similarity check of the fill-in cells (:mod:`autograder.pipeline.similarity`: pairs above
a threshold listed for a human, side by side, with what the check cannot see). The page is
self-contained: plots are PNGs drawn with matplotlib and embedded as data URIs, no script, no
style sheet or font from elsewhere, so it opens offline and can be mailed. Nothing here
changes a grade or a file of the course; it only reads.

**Diagnosis hook.** The grading report of each notebook (``<assignment>.grading.json`` next
to the autograded notebook, :mod:`autograder.sandbox.execute`) lists its code cells under
``cells``; an entry of a test cell may carry :data:`DIAGNOSIS_KEY` (``"diagnosis"``): either
a string (the catalogued mistake's description, e.g. "uses exp(logvar) as the standard
deviation") or an object ``{"mistake": <sample name>, "description": <its description>}``.
For every failed test the report counts these (:func:`diagnosis_of`), per test and mistake.
"""

from __future__ import annotations

import base64
import html
import io
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..course import Course, points
from ..nb.spec import AssignmentSpec
from ..sandbox.execute import SIDECAR_SUFFIX
from .similarity import DEFAULT_THRESHOLD, LIMITS, MIN_OVERLAP, SimilarityResult, class_similarity

#: the key of a failed test's cell entry in ``<assignment>.grading.json`` that names the mistake
DIAGNOSIS_KEY = "diagnosis"
#: tests listed under "most often failed"
TOP_FAILED = 8
#: students named per ungraded question (the rest are counted)
NAMED = 12


class ReportError(RuntimeError):
    """The report cannot be written (the message says why and what to run)."""


def diagnosis_of(entry: dict) -> str | None:
    """The diagnosed mistake of one cell entry of a grading report (see the module docstring),
    or None when the grader recorded none."""
    value = entry.get(DIAGNOSIS_KEY)
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        text = value.get("description") or value.get("mistake")
        return str(text).strip() or None if text else None
    return None


@dataclass
class TestStats:
    """One autograded grade cell across the class."""

    grade_id: str
    points: float
    passed: int = 0
    partial: int = 0
    failed: int = 0

    @property
    def submissions(self) -> int:
        return self.passed + self.partial + self.failed

    @property
    def pass_rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


@dataclass
class AssignmentReport:
    """Everything the report says about one assignment."""

    assignment: str
    max_score: float
    extra_credit: bool
    scores: dict[str, float] = field(default_factory=dict)  # student -> score (late penalty applied)
    tests: list[TestStats] = field(default_factory=list)
    diagnoses: Counter = field(default_factory=Counter)  # (grade id, mistake) -> failed submissions
    ungraded: dict[str, list[str]] = field(default_factory=dict)  # grade id -> students
    late: list[tuple[str, int, str, float]] = field(default_factory=list)  # student, days, why, penalty
    similarity: SimilarityResult | None = None

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores.values()) if self.scores else 0.0


@dataclass
class ClassReport:
    """What :func:`write_class_report` wrote."""

    path: Path
    assignments: list[AssignmentReport]
    names: dict[str, str]

    def summary(self) -> str:
        """The lines ``python -m autograder report`` prints."""
        lines = [f"wrote {self.path}"]
        for a in self.assignments:
            pairs = a.similarity.above if a.similarity else 0
            waiting = sum(len(v) for v in a.ungraded.values())
            lines.append(f"  {a.assignment}: {len(a.scores)} submissions, mean {a.mean:.1f} of {a.max_score:g}; "
                         f"{waiting} written answers ungraded; {len(a.late)} late; {pairs} similar pairs to look at")  # fmt: skip
        return "\n".join(lines)


# ---- gathering ---------------------------------------------------------------------------
def _sidecar_cells(course: Course, assignment: str, student: str) -> list[dict]:
    path = course.autograded / student / assignment / f"{assignment}{SIDECAR_SUFFIX}"
    try:
        return list(json.loads(path.read_text()).get("cells", []))
    except (OSError, ValueError, AttributeError):
        return []


def gather(course: Course, assignments: list[str], threshold: float = DEFAULT_THRESHOLD,
           similarity: bool = True) -> tuple[list[AssignmentReport], dict[str, str]]:  # fmt: skip
    """The report's numbers, from the gradebook, the grading reports and the submissions."""
    from nbgrader.api import Gradebook, MissingEntry

    from .export import collect_grades
    from .handgrade import status

    if not course.db_path.is_file() and not course.database_url:
        raise ReportError(f"No gradebook at {course.db_path}: collect and autograde first "
                          "(python -m autograder collect PATH, then autograde)")  # fmt: skip
    waiting = {s.assignment: s.ungraded for s in status(course, assignments)}
    reports: list[AssignmentReport] = []
    names: dict[str, str] = {}
    with Gradebook(course.db_url, course.course_id) as gb:
        students, max_scores = collect_grades(gb, course, assignments)
        for s in students:
            names[s.student_id] = s.display_name
        for assignment in assignments:
            try:
                found = gb.find_assignment(assignment)
            except MissingEntry:
                continue
            spec = AssignmentSpec.read(course.source_notebook(assignment))
            rep = AssignmentReport(assignment, float(found.max_score), assignment in course.config.extra_credit)
            tests = {g: TestStats(g, p) for g, p in spec.tests.items()}
            for s in students:
                cell = s.cells.get(assignment)
                if cell is None:
                    continue
                rep.scores[s.student_id] = cell.score
                if cell.late.late:
                    rep.late.append((s.student_id, cell.late.days, cell.late.reason, cell.penalty))
            for sub in found.submissions:
                student = sub.student.id
                failed_here: set[str] = set()
                for nb in sub.notebooks:
                    for g in nb.grades:
                        stats = tests.get(g.name)
                        if stats is None:
                            continue
                        score, top = float(g.score or 0.0), float(g.max_score)
                        if score >= top - 1e-9:
                            stats.passed += 1
                        elif score > 0:
                            stats.partial += 1
                            failed_here.add(g.name)
                        else:
                            stats.failed += 1
                            failed_here.add(g.name)
                for entry in _sidecar_cells(course, assignment, student):
                    label = diagnosis_of(entry)
                    if label and entry.get("grade_id") in failed_here:
                        rep.diagnoses[(entry["grade_id"], label)] += 1
            rep.tests = list(tests.values())
            for student, gids in waiting.get(assignment, {}).items():
                for gid in gids:
                    rep.ungraded.setdefault(gid, []).append(student)
            if similarity and rep.scores:
                rep.similarity = class_similarity(course, assignment, threshold)
            reports.append(rep)
    return reports, names


# ---- plots -------------------------------------------------------------------------------
def _png(fig) -> str:  # noqa: ANN001 (matplotlib Figure)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode()


def _img(data: str, alt: str) -> str:
    return f'<img class="plot" src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def score_plot(rep: AssignmentReport) -> str:
    """The score distribution as an embedded PNG."""
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6.4, 2.6), layout="constrained")
    ax = fig.add_subplot()
    values = list(rep.scores.values())
    top = max(rep.max_score, max(values, default=0.0))
    step = 1.0 if top >= 4 else 0.25  # a bar per point (scores are whole or half points)
    edges = np.arange(-step / 2, top + step, step) if top <= 60 else np.linspace(0, top, 31)
    ax.hist(values, bins=edges, color="#4c72b0", edgecolor="white")
    ax.axvline(rep.mean, color="#c44e52", linestyle="--")
    ax.set_title(f"mean {rep.mean:.1f} (dashed), median {statistics.median(values):.1f}", fontsize=9)
    ax.set_xlabel(f"score (of {points(rep.max_score)}, late penalty applied)")
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _img(_png(fig), f"score distribution of {rep.assignment}")


def pass_rate_plot(rep: AssignmentReport) -> str:
    """The pass rate of each test, hardest first, as an embedded PNG."""
    from matplotlib.figure import Figure

    tests = sorted((t for t in rep.tests if t.submissions), key=lambda t: (t.pass_rate, t.grade_id), reverse=True)
    fig = Figure(figsize=(6.4, 0.9 + 0.24 * max(1, len(tests))), layout="constrained")
    ax = fig.add_subplot()
    rates = [100 * t.pass_rate for t in tests]
    colors = ["#c44e52" if r < 50 else "#dd8452" if r < 80 else "#55a868" for r in rates]
    ax.barh([t.grade_id for t in tests], rates, color=colors)
    ax.set_xlim(0, 100)
    ax.set_xlabel("submissions passing the test (%)")
    ax.tick_params(axis="y", labelsize=8)
    return _img(_png(fig), f"pass rate per test of {rep.assignment}")


def similarity_plot(result: SimilarityResult, kind: str) -> str:
    """Every pair's similarity score with the threshold, as an embedded PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 2.2), layout="constrained")
    ax = fig.add_subplot()
    ax.hist([100 * s for s in result.scores.get(kind, [])], bins=20, range=(0, 100), color="#8172b3",
            edgecolor="white")  # fmt: skip
    ax.axvline(100 * result.threshold, color="#c44e52", linestyle="--")
    ax.set_title(f"every pair of students; dashed: the threshold ({100 * result.threshold:.0f}%)", fontsize=9)
    ax.set_yscale("symlog")
    ax.set_xlabel("share of a student's own code found in the other's (%)")
    ax.set_ylabel("pairs (log scale)")
    return _img(_png(fig), f"similarity of every pair of {result.assignment}")


# ---- the page ----------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:1.6em;margin:.4em 0}h2{border-bottom:2px solid #4c72b0;padding-bottom:4px;margin-top:2em}
h3{margin-top:1.4em;font-size:1.1em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em;background:#fff}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef2f8}
td.num,th.num{text-align:right}
.plot{max-width:100%;display:block;margin:.4em 0}
.note{color:#555;font-size:.9em;max-width:75em}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}
pre{background:#fff;border:1px solid #ddd;padding:6px;white-space:pre-wrap;font-size:.82em;margin:0}
mark{background:#ffe08a}
.bad{color:#b00020;font-weight:600}.ok{color:#2e7d32}
nav a{margin-right:1em}
"""


def _name(names: dict[str, str], student: str) -> str:
    name = names.get(student, "")
    return html.escape(f"{name} ({student})" if name and name != student else student)


def _students(names: dict[str, str], students: list[str]) -> str:
    shown = ", ".join(_name(names, s) for s in sorted(students)[:NAMED])
    return shown + (f" and {len(students) - NAMED} more" if len(students) > NAMED else "")


def _section(rep: AssignmentReport, names: dict[str, str]) -> str:
    a = html.escape(rep.assignment)
    out = [f'<section id="{a}"><h2>{a}{" (extra credit)" if rep.extra_credit else ""}</h2>']
    if not rep.scores:
        out.append("<p>No submission yet.</p></section>")
        return "".join(out)
    values = sorted(rep.scores.values())
    out.append(f"<p>{len(values)} submissions; score mean {rep.mean:.2f}, median {statistics.median(values):.2f}, "
               f"lowest {values[0]:g}, highest {values[-1]:g} of {points(rep.max_score)}.</p>")  # fmt: skip
    out += ["<h3>Score distribution</h3>", score_plot(rep)]
    # tests
    out += ["<h3>Pass rate of each test</h3>", pass_rate_plot(rep) if rep.tests else "<p>No autograded tests.</p>"]
    hardest = sorted((t for t in rep.tests if t.partial + t.failed), key=lambda t: (t.pass_rate, t.grade_id))[:TOP_FAILED]
    out.append("<h3>Most often failed tests and the mistakes diagnosed</h3>")
    if hardest:
        rows = []
        for t in hardest:
            found = sorted(((n, m) for (g, m), n in rep.diagnoses.items() if g == t.grade_id), reverse=True)
            mistakes = "<br>".join(f"{n}× {html.escape(m)}" for n, m in found) or \
                '<span class="note">no diagnosis recorded</span>'  # fmt: skip
            rows.append(f"<tr><td><code>{html.escape(t.grade_id)}</code></td><td class='num'>{t.points:g}</td>"
                        f"<td class='num'>{t.partial + t.failed} of {t.submissions}</td>"
                        f"<td class='num'>{100 * t.pass_rate:.0f}%</td><td>{mistakes}</td></tr>")  # fmt: skip
        out.append("<table class='failed'><tr><th>test</th><th class='num'>points</th><th class='num'>failed</th>"
                   "<th class='num'>pass rate</th><th>diagnosed mistakes (failed submissions)</th></tr>"
                   + "".join(rows) + "</table>")  # fmt: skip
        if not rep.diagnoses:
            out.append("<p class='note'>The grading reports hold no diagnosis yet (the <code>diagnosis</code> "
                       "field of a failed test's entry in <code>&lt;assignment&gt;.grading.json</code>).</p>")
    else:
        out.append("<p class='ok'>Every submission passed every test.</p>")
    # hand grading
    out.append("<h3>Written answers still ungraded</h3>")
    if rep.ungraded:
        rows = "".join(f"<tr><td><code>{html.escape(g)}</code></td><td class='num'>{len(s)}</td>"
                       f"<td>{_students(names, s)}</td></tr>" for g, s in sorted(rep.ungraded.items()))  # fmt: skip
        out.append(f"<p class='bad'>{sum(len(s) for s in rep.ungraded.values())} answers wait for a grader "
                   "(python -m autograder formgrader).</p><table class='ungraded'><tr><th>question</th>"
                   f"<th class='num'>waiting</th><th>students</th></tr>{rows}</table>")  # fmt: skip
    else:
        out.append("<p class='ok'>None: every written answer is graded.</p>")
    # late work
    out.append("<h3>Late work</h3>")
    if rep.late:
        rows = "".join(f"<tr><td>{_name(names, s)}</td><td class='num'>{d}</td><td>{html.escape(why)}</td>"
                       f"<td class='num'>{p:g}</td></tr>" for s, d, why, p in sorted(rep.late))  # fmt: skip
        out.append("<table class='late'><tr><th>student</th><th class='num'>days late</th><th>why</th>"
                   f"<th class='num'>penalty</th></tr>{rows}</table>")  # fmt: skip
    else:
        out.append("<p>No late submission.</p>")
    out.append(_similarity_section(rep.similarity, names))
    out.append("</section>")
    return "".join(out)


def _similarity_section(result: SimilarityResult | None, names: dict[str, str]) -> str:
    if result is None:
        return ""
    out = ["<h3>Similar answers (for a human look; grades are not changed)</h3>"]
    kinds = [k for k in ("code", "written") if k in result.compared]
    counts = "; ".join(f"{result.compared[k]} students' {'fill-in code' if k == 'code' else 'written answers'} compared"
                       + (f", {len(result.too_short[k])} with too little of their own to compare"
                          if result.too_short.get(k) else "") for k in kinds)  # fmt: skip
    out.append(f"<p class='note'>copydetect (winnowing over tokenized code; written answers as text) on every pair; "
               f"the release's code and the model answers are boilerplate. Listed: pairs where at least "
               f"{100 * result.threshold:.0f}% of one student's own code is found in the other's and at least "
               f"{MIN_OVERLAP} tokenized characters are shared (a pair sharing less counts as 0 in the plot). "
               f"{counts}.</p>")  # fmt: skip
    if "code" in kinds and result.scores.get("code"):
        out.append(similarity_plot(result, "code"))
    if result.pairs:
        out.append(f"<p class='bad'>{result.above} {'pair' if result.above == 1 else 'pairs'} "
                   "to read side by side" + (f" (the {len(result.pairs)} most similar shown; raise --threshold "
                                              "to see fewer)" if result.above > len(result.pairs) else "") + ":</p>")
        for p in result.pairs:
            cells = ", ".join(f"<code>{html.escape(c)}</code>" for c in p.cells) or "several cells"
            out.append(
                f"<details class='similar-pair' open><summary><b>{_name(names, p.a)}</b> and <b>{_name(names, p.b)}"
                f"</b>: {100 * p.share_a:.0f}% / {100 * p.share_b:.0f}% shared ({p.kind}, in {cells})</summary>"
                f"<div class='pair'><pre>{p.marked_a}</pre><pre>{p.marked_b}</pre></div></details>")  # fmt: skip
    else:
        out.append("<p class='ok'>No pair above the threshold.</p>")
    out.append(f"<p class='note'>{html.escape(LIMITS)}</p>")
    return "".join(out)


def render(course: Course, reports: list[AssignmentReport], names: dict[str, str]) -> str:
    """The whole page (self-contained HTML)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = html.escape(f"{course.config.title} {course.config.term}".strip())
    rows = []
    for r in reports:
        waiting = sum(len(v) for v in r.ungraded.values())
        pairs = r.similarity.above if r.similarity else 0
        hardest = min((t for t in r.tests if t.submissions), key=lambda t: t.pass_rate, default=None)
        rows.append(f"<tr><td><a href='#{html.escape(r.assignment)}'>{html.escape(r.assignment)}</a>"
                    f"{' (extra credit)' if r.extra_credit else ''}</td><td class='num'>{len(r.scores)}</td>"
                    f"<td class='num'>{r.mean:.1f} / {r.max_score:g}</td>"
                    f"<td>{html.escape(hardest.grade_id) + f' ({100 * hardest.pass_rate:.0f}%)' if hardest else ''}</td>"
                    f"<td class='num'>{waiting}</td><td class='num'>{len(r.late)}</td><td class='num'>{pairs}</td></tr>")  # fmt: skip
    body = "".join(_section(r, names) for r in reports)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Class report: {title}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head><body><main>"
            f"<h1>Class report: {title}</h1><p class='note'>Course {html.escape(course.course_id)}, "
            f"written {now} by python -m autograder report, from the gradebook and the grading reports. "
            f"Scores include the written answers graded so far ({points(0)} for those not graded yet) and "
            "the late policy's penalty.</p>"
            "<table class='summary'><tr><th>assignment</th><th class='num'>submissions</th><th class='num'>mean</th>"
            "<th>hardest test (pass rate)</th><th class='num'>ungraded answers</th><th class='num'>late</th>"
            f"<th class='num'>similar pairs</th></tr>{''.join(rows)}</table>{body}</main></body></html>")  # fmt: skip


def write_class_report(course: Course, assignments: list[str], to: Path | None = None, *,
                       threshold: float | None = None) -> ClassReport:  # fmt: skip
    """Write the class report (default ``<work>/reports/class-report.html``).

    Raises:
        ReportError: no gradebook yet, or a threshold outside (0, 1].
    """
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    if not 0 < threshold <= 1:
        raise ReportError(f"--threshold {threshold}: give a share between 0 and 1, e.g. 0.6")
    target = Path(to) if to else course.reports / "class-report.html"
    if target.exists() and target.is_dir():
        raise ReportError(f"--to {target}: that is a folder; give the HTML file to write")
    reports, names = gather(course, assignments, threshold)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(course, reports, names), encoding="utf-8")
    return ClassReport(target, reports, names)
