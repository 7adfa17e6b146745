"""What feedback shows of an error (pipeline/tracebacks.py)."""

from __future__ import annotations

import nbformat

from autograder.pipeline.tracebacks import (
    HIDDEN_FRAME,
    CleanTracebacks,
    clean_traceback,
    scrub_paths,
)

RED = "\x1b[0;31m"
TRACEBACK = [
    f"{RED}---------------------------------------------------------------------------\x1b[0m",
    f"{RED}AssertionError\x1b[0m                            Traceback (most recent call last)",
    "Cell \x1b[0;32mIn[6], line 7\x1b[0m\n      5 _expected = 0.5 * (np.exp(_lv) + _mu**2)\n----> 7 checks.assert_close(x)",
    "Cell \x1b[0;32mIn[4], line 2\x1b[0m, in \x1b[0;36mkl\x1b[0m\n----> 2 return np.mean(1 + logvar)",
    "File \x1b[0;32m/srv/course/autograder/course/student-helpers/kl_theory/src/vaecourse/checks.py:228\x1b[0m,"
    " in \x1b[0;36massert_close\x1b[0m\n    227 worst = err.max()\n--> 228 raise AssertionError(",
    "File \x1b[0;32m/srv/course/autograder/course/student-helpers/x/src/vaecourse/testkit/fakes.py:91\x1b[0m,"
    " in \x1b[0;36mnp_reparameterize\x1b[0m\n--> 91 return mean + np.exp(0.5 * logvar) * noise",
    "File \x1b[0;32m/usr/lib/python3/dist-packages/keras/src/ops/core.py:10\x1b[0m, in \x1b[0;36mcast\x1b[0m\n--> 10 x",
    "File \x1b[0;32m/srv/course/secret/grader.py:3\x1b[0m, in \x1b[0;36mf\x1b[0m\n--> 3 secret = 1",
    f"{RED}AssertionError\x1b[0m: KL differs at /srv/course/autograder/course/tmp/k1/x.npy",
]
ROOTS = ["/srv/course"]


def test_test_cell_frames_lose_their_code_student_frames_keep_it() -> None:
    out = clean_traceback(TRACEBACK, own_cells={4}, roots=ROOTS)
    text = "\n".join(out)
    assert HIDDEN_FRAME in out and "_expected" not in text and "Cell \x1b[0;32mIn[6]" not in text
    assert "return np.mean(1 + logvar)" in text  # the student's own cell
    assert "vaecourse/checks.py:228" in text and "raise AssertionError(" in text  # public package: source kept
    assert "keras/src/ops/core.py:10" in text
    assert "np.exp(0.5 * logvar) * noise" not in text and "test kit" in text  # graders' test kit: hidden
    assert "secret = 1" not in text and "a file of the grader" in text
    assert "/srv/course" not in text and "x.npy" in text  # the message's path cut to the file name


def test_scrub_paths() -> None:
    assert scrub_paths("see /root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/numpy/core.py", []) == \
        "see numpy/core.py"
    assert scrub_paths("'/srv/course/work/submitted/s1/a/a.ipynb' missing", ["/srv/course"]) == "'a.ipynb' missing"
    assert scrub_paths("nothing here", ROOTS) == "nothing here"


def test_the_preprocessor_rebuilds_errors_and_texts() -> None:
    nb = nbformat.v4.new_notebook()
    test = nbformat.v4.new_code_cell("checks.assert_untampered()", execution_count=6)
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "test_kl", "points": 1}
    answer = nbformat.v4.new_code_cell("def kl(mu, logvar): ...", execution_count=4)
    answer.metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "kl"}
    test.outputs = [nbformat.v4.new_output("stream", name="stdout", text="data in /srv/course/data/mnist.npz\n"),
                    nbformat.v4.new_output("error", ename="AssertionError", evalue="at /srv/course/x/y.txt",
                                           traceback=TRACEBACK)]
    nb.cells = [answer, test]
    out, _ = CleanTracebacks(roots=ROOTS).preprocess(nb, {})
    stream, error = out.cells[1].outputs
    assert stream["text"] == "data in mnist.npz\n" and error["evalue"] == "at y.txt"
    assert HIDDEN_FRAME in error["traceback"] and "return np.mean(1 + logvar)" in "\n".join(error["traceback"])
