"""The scan flags suspicious code for a human look: only the student's own code, one flag per kind."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.pipeline.scan import PATTERNS, scan_notebook

RELEASE = new_notebook(cells=[new_code_cell("import numpy as np\nfrom vaecourse import checks"),
                              new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()")])  # fmt: skip


def flags(*sources: str) -> list[str]:
    nb = new_notebook(cells=[*RELEASE.cells, *(new_code_cell(s) for s in sources)])
    return scan_notebook(nb, RELEASE)


@pytest.mark.parametrize(
    ("source", "label"),
    [
        ("get_ipython().set_custom_exc((Exception,), h)", "changes how cells run"),
        ("import builtins\nbuiltins.abs = f", "touches builtins"),
        ("checks.assert_close = lambda *a: None", "touches the test-checking module"),
        ("import sys\nsys.modules['numpy'] = fake", "replaces modules"),
        ("np.testing.assert_allclose = lambda *a, **k: None", "monkeypatches a library"),
        ("class A:\n    def __eq__(self, other):\n        return True", "comparison/conversion"),
        ("import os\nos._exit(0)", "exits, kills"),
        ("try:\n    f()\nexcept KeyboardInterrupt:\n    pass", "catches KeyboardInterrupt"),
        ("import subprocess\nsubprocess.run(['ls'])", "system or network"),
        ("import os\nif os.fork() == 0:\n    os.setsid()", "starts processes or threads"),
        ("import threading\nthreading.Thread(target=f).start()", "starts processes or threads"),
        ("open('../solutions/mnist_vae.ipynb')", "refers to course files"),
        ("import sys\nsys.settrace(f)", "inspects the running tests"),
        ("eval('1 + 1')", "runs generated code"),
    ],
)
def test_each_kind_is_flagged_with_its_line(source: str, label: str) -> None:
    found = flags(source)
    assert any(label in f for f in found), found
    assert any("(cell 2: " in f for f in found)


def test_honest_code_and_release_text_are_not_flagged() -> None:
    assert flags("def kl(mu, logvar):\n    return -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)") == []
    assert flags("x = np.allclose(a, b)  # a comparison, not a patch") == []
    release_copy = new_notebook(cells=[new_code_cell("import sys\nsys.exit(0)")])  # the release's own text
    assert scan_notebook(release_copy, release_copy) == []


def test_markdown_is_not_scanned_and_each_label_once_naming_every_cell() -> None:
    nb = new_notebook(cells=[new_markdown_cell("I could call os._exit(0) here"),
                             new_code_cell("os._exit(0)"), new_code_cell("os.kill(1, 9)")])  # fmt: skip
    found = scan_notebook(nb, RELEASE)
    assert len(found) == 1 and "cell 1: 'os._exit(0)'" in found[0] and "cell 2: 'os.kill(1, 9)'" in found[0]
    assert "cell 0" not in found[0]


def test_nineteen_offending_cells_are_all_named() -> None:
    """A flag names every offending cell (issue 24: only the first of 19 was named)."""
    nb = new_notebook(cells=[new_code_cell(f"x{i} = 1\nget_ipython().run_line_magic('time', '')") for i in range(19)])
    (flag,) = [f for f in scan_notebook(nb, RELEASE) if "IPython shell" in f]
    assert flag.count("get_ipython") == 3  # the first three quoted
    named = {int(n) for n in __import__("re").findall(r"cells? (\d+)", flag)}
    named |= {int(n) for n in flag.split("also cells ")[1].rstrip(")").split(", ")}
    assert named == set(range(19))


def test_every_pattern_has_a_label() -> None:
    labels = [label for _, label in PATTERNS]
    assert len(labels) == len(set(labels)) and all(labels)


FILL_INS = frozenset({"compute_loss", "reparameterize", "Sampling"})
PACKAGE_RELEASE = new_notebook(cells=[
    new_code_cell("from vaecourse import checks\nfrom vaecourse.tf import losses, models, sampling as smp"),
    new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()")])  # fmt: skip


@pytest.mark.parametrize(
    "source",
    [
        "from vaecourse.tf.losses import compute_loss",
        "from vaecourse.tf.sampling import (Sampling as S, reparameterize)",
        "def loss(model, x):\n    return losses.compute_loss(model, x)",
        "z = smp.reparameterize(mean, logvar)",
        "import vaecourse.tf.losses\nf = vaecourse.tf.losses.compute_loss",
        "import vaecourse.tf as T\nlayer = T.sampling.Sampling()",
    ],
)
def test_imports_of_the_package_fill_ins_are_flagged(source: str) -> None:
    nb = new_notebook(cells=[*PACKAGE_RELEASE.cells, new_code_cell(source)])
    found = scan_notebook(nb, PACKAGE_RELEASE, FILL_INS)
    assert any("uses the package's implementation of a fill-in (cell 2" in f for f in found), found


@pytest.mark.parametrize(
    "source",
    [
        "def reparameterize(mean, logvar):\n    return mean + np.exp(0.5 * logvar) * eps",
        "z = model.reparameterize(mean, logvar)  # the student's model method",
        "from vaecourse.tf.losses import kl_to_standard_normal, reconstruction_log_likelihood",
        "history = training.fit(model, train, test, 2, loss_fn=compute_loss)",
    ],
)
def test_own_fill_ins_and_other_package_functions_are_not_flagged(source: str) -> None:
    nb = new_notebook(cells=[*PACKAGE_RELEASE.cells, new_code_cell(source)])
    assert scan_notebook(nb, PACKAGE_RELEASE, FILL_INS) == []
