"""Every release notebook, with its reference answers, runs on the build of its release date."""

from __future__ import annotations

import pytest

from autograder.course import Course
from autograder.pipeline.student_build import prerequisites, release_date
from autograder.proofs.release_run import run_release

COURSE = Course.default()


@pytest.mark.parametrize("assignment", COURSE.assignments())
def test_the_release_runs_on_the_build_of_its_release_date(assignment: str) -> None:
    errors = run_release(COURSE, assignment)
    when = release_date(COURSE, assignment)
    assert not errors, (f"{assignment}, published {'after ' + ', '.join(prerequisites(COURSE, assignment)) if when else 'at the start of the term'}"
                        ", fails with the reference answers:\n" + "\n".join(errors))


def test_a_notebook_that_needs_a_hidden_answer_fails(tmp_path) -> None:
    """The check has teeth: cifar10_vae builds on MNIST's answers from the package, so on the
    build of the start of the term (MNIST's answers stripped) its reference run fails."""
    assert "mnist_vae" in prerequisites(COURSE, "cifar10_vae")
    first = min(d for d in COURSE.config.due.values() if d)
    from datetime import timedelta

    errors = run_release(COURSE, "cifar10_vae", when=first - timedelta(days=1), work=tmp_path)
    assert any("NotImplementedError" in e for e in errors), errors
