"""publish: the student distribution holds releases, the student build and a README, and no answer."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.pipeline.publish import publish
from autograder.pipeline.student_build import BEGIN, END, block_assignments, prerequisites

COURSE = Course.default()
MARKERS = re.compile(r"^\s*(### (BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)|# (BEGIN|END) (FILL-IN|ANSWER) \S+)", re.M)


def _secret_lines(assignments: list[str]) -> tuple[set[str], set[str]]:
    """(secret lines of the sources of ``assignments`` and of the package's fill-in and answer
    bodies of those assignments, public lines: outside any marker, in the sources and in the
    package)."""
    secret: set[str] = set()
    public: set[str] = set()
    for a in COURSE.assignments():
        for cell in nbformat.read(COURSE.source_notebook(a), as_version=4).cells:
            answer = cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution")
            inside = False
            for line in cell.source.splitlines():
                text = line.strip()
                if re.match(r"\s*### BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)", line):
                    inside = True
                elif re.match(r"\s*### END (SOLUTION|HIDDEN TESTS|MARK SCHEME)", line):
                    inside = False
                elif (inside or answer) and a in assignments:
                    secret.add(text)
                elif not inside and not answer:
                    public.add(text)
    owners = block_assignments(COURSE)
    for path in (COURSE.root / "helpers" / "src").rglob("*.py"):
        inside = None
        for line in path.read_text().splitlines():
            if m := BEGIN.match(line):
                inside = m["name"]
            elif END.match(line):
                inside = None
            elif inside is not None and owners[inside] & set(assignments):
                secret.add(line.strip())
            else:  # outside the blocks, or in a block that is published (all its assignments past due)
                public.add(line.strip())
    return {s for s in secret if len(s) >= 25} - public, public


@pytest.fixture(scope="module")
def term_start(tmp_path_factory: pytest.TempPathFactory):
    first = min(d for d in COURSE.config.due.values() if d)
    out = tmp_path_factory.mktemp("public")
    (out / ".git").mkdir()  # a clone of the public repository: kept
    return publish(COURSE, out, when=first - timedelta(days=1))


def test_the_tree_holds_only_releases_build_and_readme(term_start) -> None:
    out = term_start.out
    assert sorted(p.name for p in out.iterdir()) == [".git", "README.md", "helpers", "notebooks"]
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    notebooks = {f for f in files if f.startswith("notebooks/")}
    # at the start of the term only the notebooks that build on no answer still hidden
    ready = [a for a in COURSE.assignments() if not prerequisites(COURSE, a)]
    assert notebooks == {f"notebooks/{a}/{a}.ipynb" for a in ready} and ready
    assert term_start.waiting == [a for a in COURSE.assignments() if a not in ready]
    for f in files - notebooks - {"README.md"}:
        assert f.startswith("helpers/") and "egg-info" not in f and "__pycache__" not in f, f
        assert "/testkit/" not in f, f  # the graders' test kit is never published
    assert not any(p.suffix == ".ipynb" for p in (out / "helpers").rglob("*"))
    assert term_start.kept == [] and term_start.version and term_start.ref == COURSE.config.ref
    readme = (out / "README.md").read_text()
    assert COURSE.config.ref in readme and term_start.version in readme
    for a in ready:
        assert f"/blob/{COURSE.config.ref}/notebooks/{a}/{a}.ipynb" in readme
    for a in term_start.waiting:
        assert f"| `{a}` |" in readme and "published after" in readme


def test_no_solution_hidden_test_rubric_or_fill_in_body_is_published(term_start) -> None:
    secret, _ = _secret_lines(COURSE.assignments())
    assert len(secret) > 200  # the check has teeth
    leaks = []
    for path in term_start.out.rglob("*"):
        if not path.is_file() or ".git" in path.parts:
            continue
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            text = "\n".join(c.source for c in nb.cells)
            assert all(not c.get("outputs") for c in nb.cells), f"{path}: outputs published"
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        assert not MARKERS.search(text), f"{path}: a solution or fill-in marker"
        leaks += [f"{path.relative_to(term_start.out)}: {line.strip()}" for line in text.splitlines()
                  if line.strip() in secret]  # fmt: skip
    assert not leaks, "answers in the published tree:\n" + "\n".join(leaks[:10])


def test_after_a_due_date_its_fill_ins_come_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import autograder.pipeline.publish as module

    def no_notebook(course: Course, assignment: str, target: Path) -> Path:  # releases: tested above
        (target / assignment).mkdir(parents=True, exist_ok=True)
        return target / assignment / f"{assignment}.ipynb"

    monkeypatch.setattr(module, "generate", no_notebook)
    due = COURSE.config.due["mnist_vae"]
    assert due is not None
    done = publish(COURSE, tmp_path / "p", when=due + timedelta(minutes=1))
    assert done.kept == ["mnist_vae"]
    assert "cifar10_vae" not in done.waiting  # it builds on MNIST's answers: published now
    assert "compute_loss" not in done.stripped and "bits_per_dim" in done.stripped
    losses = (done.out / "helpers/src/vaecourse/tf/losses.py").read_text()
    metrics = (done.out / "helpers/src/vaecourse/tf/metrics.py").read_text()
    assert 'NotImplementedError("compute_loss' not in losses and 'NotImplementedError("bits_per_dim' in metrics
    secret, _ = _secret_lines(["cifar10_vae", "mmd_vae", "celeba_vae", "kl_theory"])
    text = "\n".join(p.read_text(errors="replace") for p in (done.out / "helpers").rglob("*.py"))
    assert not {line.strip() for line in text.splitlines()} & secret
    with pytest.raises(FileExistsError, match="--force"):
        publish(COURSE, tmp_path / "p", when=due)
    again = publish(COURSE, tmp_path / "p", when=due - timedelta(minutes=1), force=True)
    assert again.kept == []
