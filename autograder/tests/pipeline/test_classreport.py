"""The class report on the toy demo's class with the planted students collected and graded.

The page is read back (its tables and images parsed), its numbers are checked against the
gradebook, the diagnosis hook is counted only for failed tests, the planted copy is listed
and the honest students are not; then the page is opened in headless Chromium and
screenshotted to ``out/class-report/``.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder import cli
from autograder.course import Course
from autograder.pipeline.classreport import (
    DIAGNOSIS_KEY,
    ReportError,
    diagnosis_of,
    write_class_report,
)
from autograder.pipeline.grade import scores
from autograder.pipeline.handgrade import status

from ..browser import NEEDS_BROWSER, chromium, out_dir
from ..planted import COPYCAT, HONEST1, HONEST2, ORIG, planted_downloads

TOY = ["toy_vae", "toy_quiz"]
MISTAKE = "uses exp(logvar) as the standard deviation"


class Page(HTMLParser):
    """The parts of the report the tests read: images, sections, table rows, similar pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.scripts = 0
        self.links: list[str] = []
        self.section = ""
        self.rows: dict[str, list[list[str]]] = {}
        self.pairs: dict[str, list[str]] = {}
        self._table, self._row, self._cell, self._summary = "", None, None, None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "script":
            self.scripts += 1
        elif tag in ("link", "a") and (a.get("href") or "").startswith("http"):
            self.links.append(a["href"])
        elif tag == "section":
            self.section = a.get("id", "")
        elif tag == "table":
            self._table = f"{self.section}:{a.get('class', '')}"
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "summary":
            self._summary = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(self._table, []).append(self._row)
            self._row = None
        elif tag == "summary" and self._summary is not None:
            self.pairs.setdefault(self.section, []).append(self._summary)
            self._summary = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data
        if self._summary is not None:
            self._summary += data


@pytest.fixture(scope="module")
def report_class(toy_demo, tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A copy of the demo's class plus the planted students, collected and autograded; one
    failed test of a mistake pack carries a diagnosis, and one passed test a (stray) one."""
    from autograder.pipeline.collect import collect
    from autograder.pipeline.run import run_autograde

    root = tmp_path_factory.mktemp("report")
    course = toy_demo.work.with_work(root / "work")
    shutil.copytree(toy_demo.work.work, course.work)
    collect(course, planted_downloads(course, root / "downloads"), ["toy_vae"])
    run_autograde(course, ["toy_vae"], jobs=1, pairs=[("toy_vae", s) for s in (ORIG, COPYCAT, HONEST1, HONEST2)])
    for student, cells in scores(course, "toy_vae").items():
        if cells["test_reparameterize"].auto_score == 0 and cells["test_kl_divergence"].auto_score:
            _diagnose(course, student, "test_reparameterize", {"mistake": "sigma_as_variance", "description": MISTAKE})
            break
    else:
        pytest.fail("no submission failed test_reparameterize alone")
    ref = next(s.student_id for s in toy_demo.students if s.label == "Reference")
    _diagnose(course, ref, "test_kl_divergence", "a stray diagnosis on a passed test")
    return course


def _diagnose(course: Course, student: str, grade_id: str, value: object) -> None:
    path = course.autograded / student / "toy_vae" / "toy_vae.grading.json"
    report = json.loads(path.read_text())
    entry = next(c for c in report["cells"] if c["grade_id"] == grade_id)
    entry[DIAGNOSIS_KEY] = value
    path.write_text(json.dumps(report))


@pytest.fixture(scope="module")
def written(report_class: Course) -> tuple[Path, Page]:
    report = write_class_report(report_class, TOY)
    page = Page()
    page.feed(report.path.read_text())
    return report.path, page


def test_the_page_is_self_contained_with_real_plots(written) -> None:
    _, page = written
    assert page.scripts == 0 and page.links == []
    assert len(page.images) >= 5  # per assignment: scores, pass rates (+ similarity for toy_vae)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1])
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_pass_rates_and_scores_match_the_gradebook(written, report_class: Course) -> None:
    _, page = written
    summary = {r[0].split(" ")[0]: r for r in page.rows[":summary"][1:]}
    table = scores(report_class, "toy_vae")
    assert summary["toy_vae"][1] == str(len(table))
    failed = {r[0]: r for r in page.rows["toy_vae:failed"][1:]}
    for gid in ("test_reparameterize", "test_kl_divergence"):
        n = sum(1 for cells in table.values() if (cells[gid].auto_score or 0) < cells[gid].max_score)
        assert failed[gid][2] == f"{n} of {len(table)}"
        assert failed[gid][3] == f"{100 * (len(table) - n) / len(table):.0f}%"


def test_diagnosed_mistakes_are_counted_for_failed_tests_only(written) -> None:
    _, page = written
    failed = {r[0]: r for r in page.rows["toy_vae:failed"][1:]}
    # the grader's own diagnoses (each sample pack with this mistake) and the planted one, counted
    assert re.fullmatch(rf"\d+× {re.escape(MISTAKE)}", failed["test_reparameterize"][4]), failed["test_reparameterize"]
    assert "stray" not in failed["test_kl_divergence"][4]
    assert diagnosis_of({"diagnosis": "x"}) == "x" and diagnosis_of({"diagnosis": {"mistake": "m"}}) == "m"
    assert diagnosis_of({}) is None and diagnosis_of({"diagnosis": ""}) is None


def test_ungraded_answers_and_late_work_are_listed(written, report_class: Course) -> None:
    _, page = written
    waiting = {s.assignment: s.ungraded_count for s in status(report_class, TOY)}
    rows = page.rows["toy_vae:ungraded"][1:]
    assert rows[0][0] == "written_trick" and int(rows[0][1]) == waiting["toy_vae"] > 0
    late = [r[0] for r in page.rows["toy_vae:late"][1:]]
    assert any(COPYCAT in r for r in late) and not any(ORIG in r for r in late)


def test_the_planted_copy_is_listed_and_the_honest_students_are_not(written) -> None:
    _, page = written
    pairs = page.pairs["toy_vae"]
    assert any(ORIG in p and COPYCAT in p for p in pairs), pairs
    assert not any(HONEST1 in p or HONEST2 in p for p in pairs), pairs


def test_bad_input_gets_a_clear_message(report_class: Course, tmp_path: Path, capsys) -> None:
    with pytest.raises(ReportError, match="between 0 and 1"):
        write_class_report(report_class, TOY, threshold=1.5)
    with pytest.raises(ReportError, match="that is a folder"):
        write_class_report(report_class, TOY, tmp_path)
    with pytest.raises(ReportError, match="collect and autograde first"):
        write_class_report(report_class.with_work(tmp_path / "nothing"), TOY)
    assert cli.main(["--course-dir", str(tmp_path / "nothing"), "report", "--threshold", "0"]) == 1
    assert "between 0 and 1" in capsys.readouterr().err


@NEEDS_BROWSER
def test_the_report_renders_in_chromium(written) -> None:
    from selenium.webdriver.common.by import By

    path, _ = written
    out = out_dir("class-report")
    with chromium(1200, 1000) as browser:
        browser.get(path.as_uri())
        images = browser.find_elements(By.CSS_SELECTOR, "img.plot")
        end = time.time() + 20
        while time.time() < end and not all(browser.execute_script("return arguments[0].complete && "
                                                                   "arguments[0].naturalWidth > 0", i) for i in images):  # fmt: skip
            time.sleep(0.2)
        widths = [browser.execute_script("return arguments[0].naturalWidth", i) for i in images]
        assert widths and all(w > 300 for w in widths), widths
        assert browser.find_element(By.ID, "toy_vae").is_displayed()
        pair = browser.find_element(By.CSS_SELECTOR, "#toy_vae details.similar-pair")
        assert pair.find_elements(By.TAG_NAME, "mark")
        browser.save_screenshot(str(out / "01-top.png"))
        browser.execute_script("arguments[0].scrollIntoView()", pair)
        browser.save_screenshot(str(out / "02-similar-pair.png"))
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1200, min(int(height) + 100, 12000))
        browser.save_screenshot(str(out / "03-whole-page.png"))
    assert (out / "03-whole-page.png").stat().st_size > 10_000
