"""The answer audit: nothing students are given passes a graded cell's tests (issue 22)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from autograder.course import Course
from autograder.proofs.audit import audit, fill_in_targets, visible_functions
from autograder.proofs.audit_probe import _glue, forwarding_sources, similar

COURSE = Course.default()


def test_forwarding_follows_the_fill_ins_signature() -> None:
    def target(a, b, c=1, *, flag=True):  # noqa: ANN001,ANN202
        return a

    calls = dict(forwarding_sources("mean, logvar, seed=None", target))
    assert calls["first 3 positional"] == "mean, logvar, seed"
    assert calls["first 2 positional"] == "mean, logvar"
    assert calls["first 3 positional, flag=False"] == "mean, logvar, seed, flag=False"
    assert "first 1 positional" not in calls  # target needs two


def test_structure_not_values_decides_who_runs_the_tests() -> None:
    import numpy as np

    assert similar(np.zeros((2, 3)), np.ones((2, 3))) and not similar(np.zeros((2, 3)), np.zeros((3, 2)))
    assert similar((np.zeros(2), 1.0), [np.ones(2), 2.0]) and not similar((1.0,), (1.0, 2.0))
    assert similar(3.0, np.float32(1.0)) and not similar(3.0, "3")
    glue = dict(_glue({"elbo": np.zeros(4), "kl": np.zeros(4)}))
    assert glue[", item 'elbo', minus the mean"]({"elbo": np.array([1.0, 3.0]), "kl": 0}) == -2.0


def test_every_graded_code_cell_is_audited_or_says_why() -> None:
    import nbformat

    for assignment in COURSE.assignments():
        nb = nbformat.read(COURSE.source_notebook(assignment), as_version=4)
        targets, skipped = fill_in_targets(nb)
        assert targets, assignment
        for gid, why in skipped.items():
            assert gid.startswith(("answer", "train")), (assignment, gid, why)  # choices and training cells
    snippets = visible_functions(COURSE)
    assert any(s["origin"].startswith("mnist_vae") for s in snippets)


def test_the_audit_finds_an_answer_left_in_the_package(tmp_path) -> None:
    """The positive control: with kl_theory's blocks NOT stripped, the package's own functions
    (and the theory notebook's other KL forms) solve its fill-ins, and the audit says so."""
    report = audit(COURSE, "kl_theory", work=tmp_path, strip=set())
    solved = report.solved
    assert "kl_gaussians" in solved and any("vaecourse.gaussian.kl_gaussians" in c for c in solved["kl_gaussians"])
    assert not report.ok


def test_nothing_students_have_solves_a_graded_cell() -> None:
    with ThreadPoolExecutor(2) as pool:  # one audit process per core
        reports = list(pool.map(lambda a: audit(COURSE, a), COURSE.assignments()))
    text = "\n\n".join(r.format() for r in reports)
    print(text)
    for report in reports:
        assert report.ok, text
    assert sum(f.ran_tests for r in reports for f in r.fill_ins.values()) > 100  # it tried things
