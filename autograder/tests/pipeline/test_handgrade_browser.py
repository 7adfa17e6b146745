"""Hand grading in a real browser: the formgrader on a graded class, driven with Selenium.

A grader opens ``python -m autograder formgrader`` (here :func:`serve_formgrader` on
127.0.0.1 in a subprocess) on the small test class of :mod:`autograder.tests.handgrade_class`,
opens Ada's written answer, sees her own outputs (a number and a figure that exist only in
her upload) and the rubric, follows the link to her whole notebook as she ran it, enters a
score and a comment; then feedback HTML and the LMS exports must contain them (and the
feedback no rubric). Each step is a screenshot in ``out/browser-test/`` (``VAECOURSE_TEST_OUT``
moves it). Uses Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them);
skipped where they or Selenium are missing. Nothing here downloads a browser.
"""

from __future__ import annotations

import csv
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from autograder.course import REPO, Course

from ..browser import NEEDS_BROWSER, chromium, out_dir
from ..handgrade_class import ADA, ADA_ANSWER, BO, OWN_NUMBER, build_class

pytestmark = NEEDS_BROWSER

TOKEN = "browser-test-token"
SCORE, COMMENT = "1.5", "Right idea; say why eps needs no gradient."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> Course:
    return build_class(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def server(graded_class: Course):
    course, port = graded_class, _free_port()
    code = (
        "import sys; from pathlib import Path; from autograder.course import Course; "
        "from autograder.pipeline.handgrade import serve_formgrader; r = Path(sys.argv[1]); "
        "c = Course(root=r, source=r / 'solutions', release=r / 'notebooks', work=r / 'work', samples=r / 'samples'); "
        "serve_formgrader(c, ['toy_vae', 'toy_quiz'], port=int(sys.argv[2]), token=sys.argv[3], open_browser=False)"
    )
    log = open(course.work / "formgrader.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-c", code, str(course.root), str(port), TOKEN],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            pytest.fail("the formgrader did not start in 120 s")
        if proc.poll() is not None:
            pytest.fail("the formgrader exited:\n" + (course.work / "formgrader.log").read_text()[-3000:])
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def _submission_id(course: Course, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        return gb.find_submission_notebook("toy_vae", "toy_vae", student).id


def _wait(predicate, timeout: float = 30.0, what: str = "the page") -> None:  # noqa: ANN001
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def test_grade_a_written_answer_in_the_browser(graded_class: Course, server: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from autograder.pipeline.export import export_result
    from autograder.pipeline.handgrade import ungraded
    from autograder.pipeline.run import feedback

    course, out = graded_class, out_dir("browser-test")
    shot = iter(range(1, 100))

    def screenshot(name: str) -> None:
        browser.save_screenshot(str(out / f"{next(shot):02d}-{name}.png"))

    # 1. the formgrader's start page, served from the course root
    browser.get(f"{server}/formgrader?token={TOKEN}")
    _wait(lambda: "toy_vae" in browser.page_source, what="the assignment list")
    screenshot("formgrader-assignments")
    assert ungraded(course, ["toy_vae"]) == {"toy_vae": 1}

    # 2. Ada's notebook: her answer, her own outputs and the rubric beside it
    browser.get(f"{server}/formgrader/submissions/{_submission_id(course, ADA)}/?token={TOKEN}")
    _wait(lambda: browser.find_elements(By.ID, "written_trick"), what="the score box")
    page = browser.page_source
    assert ADA_ANSWER.split(";")[0] in page
    box = browser.find_element(By.CSS_SELECTOR, ".vaecourse-grader-only")
    assert OWN_NUMBER in box.text and "Rubric: 2 points for naming" in box.text
    image = box.find_element(By.CSS_SELECTOR, ".vaecourse-own-outputs img")
    _wait(lambda: browser.execute_script("return arguments[0].naturalWidth", image) == 40, what="her figure")
    browser.execute_script("arguments[0].scrollIntoView()", box)
    screenshot("answer-own-outputs-rubric")
    # MathJax comes from this server (jupyter_server_mathjax), not a CDN: it works offline
    _wait(lambda: browser.execute_script("return !!(window.MathJax && MathJax.isReady && MathJax.Hub.queue.pending === 0"
                                         " && MathJax.Hub.queue.running === 0)"),
          what="MathJax from the Jupyter server, done typesetting")  # fmt: skip
    sources = browser.execute_script("return Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s))")
    assert sources and all("/static/jupyter_server_mathjax/" in src for src in sources), sources
    assert "colab-badge.svg" not in browser.page_source

    # 3. her whole notebook as she ran it, one click away
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "the whole notebook as the student ran it")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    time.sleep(0.5)
    link.click()
    _wait(lambda: len(browser.window_handles) == 2, what="the student's notebook tab")
    browser.switch_to.window(browser.window_handles[1])
    _wait(lambda: OWN_NUMBER in browser.page_source, what="her own run")
    assert "written_trick" in browser.current_url
    screenshot("student-own-run")
    browser.close()
    browser.switch_to.window(browser.window_handles[0])

    # 4. a score and a comment, saved by the formgrader
    score = browser.find_element(By.ID, "written_trick")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", score)
    score.clear()
    score.send_keys(SCORE, Keys.TAB)
    comment = browser.find_element(By.ID, "written_trick-comment")
    comment.send_keys(COMMENT)
    comment.send_keys(Keys.TAB)
    _wait(lambda: not ungraded(course, ["toy_vae"]), what="the score to reach the gradebook")
    _wait(lambda: _comment(course) == COMMENT, what="the comment to reach the gradebook")
    time.sleep(0.5)  # the "saved" tick
    screenshot("score-and-comment-entered")

    # 5. feedback and the LMS export carry them; the feedback shows no rubric
    files = feedback(course, ["toy_vae"])
    html = (course.feedback / ADA / "toy_vae" / "toy_vae.html").read_text()
    assert course.feedback / ADA / "toy_vae" / "toy_vae.html" in files
    assert COMMENT in html and "Rubric: 2 points" not in html and "For graders only" not in html
    assert not list((course.feedback / ADA / "toy_vae").glob("*.own-run.html"))
    browser.get((course.feedback / ADA / "toy_vae" / "toy_vae.html").as_uri())
    found = browser.find_element(By.XPATH, f"//*[contains(text(), '{COMMENT[:20]}')]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", found)
    screenshot("feedback-with-comment")

    result = export_result(course, None, "canvas")
    with open(result.path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[1][0].strip() == "Points Possible" and rows[0][5:] == ["toy_vae"]  # nothing handed in for toy_quiz
    col = rows[0].index("toy_vae")
    by_id = {r[1]: r for r in rows[2:]}
    autograded_points = 6.0  # Ada's reference code: every test passes
    assert float(rows[1][col]) == autograded_points + 2
    assert float(by_id[ADA][col]) == autograded_points + float(SCORE) and by_id[ADA][0] == "Lovelace"
    assert float(by_id[BO][col]) == autograded_points  # blank written answer: zero, no grader needed
    with open(result.late_report, newline="") as f:
        late = list(csv.DictReader(f))
    assert [(r["student_id"], r["penalty"]) for r in late] == [(ADA, "0")]  # policy none: reported only


def _comment(course: Course) -> str | None:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        return gb.find_comment("written_trick", "toy_vae", "toy_vae", ADA).manual_comment
