"""A real browser for the tests: Debian's Chromium and chromedriver driven by Selenium.

``.ci/run`` installs ``chromium`` and ``chromium-driver``; where they or Selenium are missing
the browser tests are skipped (:data:`NEEDS_BROWSER`). Nothing here downloads a browser.
Screenshots go to ``out/<name>/`` (``VAECOURSE_TEST_OUT`` moves them).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from autograder.course import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
NEEDS_BROWSER = pytest.mark.skipif(
    not (CHROMIUM and DRIVER and importlib.util.find_spec("selenium")),
    reason="no system Chromium/chromedriver or Selenium (apt-get install chromium chromium-driver)",
)


def out_dir(name: str) -> Path:
    """A fresh folder for a test's screenshots: ``$VAECOURSE_TEST_OUT`` or ``out/<name>``."""
    out = Path(os.environ.get("VAECOURSE_TEST_OUT") or REPO / "out" / name)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out


@contextmanager
def chromium(width: int = 1280, height: int = 1400) -> Iterator:  # -> selenium WebDriver
    """A headless Chromium, quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                "--disable-gpu", "--no-first-run"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
