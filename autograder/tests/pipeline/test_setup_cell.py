"""Badges and setup cells come from course.toml; the install block does the right thing."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course, CourseConfig, CourseConfigError
from autograder.pipeline.setup_cell import (
    BEGIN,
    apply_course_config,
    badge_url,
    install_block,
    package_version,
    setup_block_of,
)

REPO = Path(__file__).resolve().parents[2].parent
COURSE = Course.default()
NOTEBOOKS = sorted([*REPO.glob("solutions/*/*.ipynb"), *REPO.glob("notebooks/*/*.ipynb")])


def _tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    files = []
    for name in out.splitlines():
        path = REPO / name
        if path.is_file() and path.suffix in {".md", ".py", ".ipynb", ".toml", ".txt", ".yml", ".yaml", ".cfg", ""}:
            files.append(path)
    return files


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_notebook_points_at_the_configured_repository_and_tag(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    assignment = notebook.stem
    assert setup_block_of(nb) == install_block(COURSE.config)
    text = "\n".join(c.source for c in nb.cells)
    assert badge_url(COURSE.config, assignment) in text
    assert COURSE.config.pip_url in text and f"@{COURSE.config.ref}" in COURSE.config.pip_url
    # nothing else: every Colab link and pip URL in the notebook is the configured one
    assert text.count("colab.research.google.com/github/") == text.count(badge_url(COURSE.config, assignment))
    assert text.count("git+") == text.count(COURSE.config.pip_url)


def test_no_document_or_code_names_the_install_url() -> None:
    """Only course.toml and the generated notebook cells name the repository or a pip URL."""
    repo_path = COURSE.config.repository.split("github.com/")[-1].removesuffix(".git")
    offenders = []
    for path in _tracked_text_files():
        relative = path.relative_to(REPO)
        if relative.parts[0] in {"solutions", "notebooks"} or str(relative) == "course.toml":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if relative == Path(__file__).relative_to(REPO):
            continue
        if repo_path in text:
            offenders.append(f"{relative}: names {repo_path}")
        if "tests" in relative.parts:  # tests may name made-up forks
            continue
        for m in re.finditer(r"colab\.research\.google\.com/github/[\w.-]+/[\w.-]+|git\+https://github\.com/[\w.-]+/[\w.-]+", text):
            offenders.append(f"{relative}: {m.group(0)}")
    assert not offenders, "the install URL belongs in course.toml only:\n" + "\n".join(offenders)


def test_a_fork_changes_only_course_toml() -> None:
    """Another repository and tag: release's rewrite puts them in the badge and the setup cell."""
    fork = CourseConfig(repository="https://github.com/uni-x/vae-2027", ref="t2027.1")
    nb = nbformat.read(REPO / "solutions/kl_theory/kl_theory.ipynb", as_version=4)
    outputs = [c.get("outputs") for c in nb.cells]
    changed = apply_course_config(nb, fork, "kl_theory")
    assert set(changed) == {"setup cell", "badge", "submission check cell"}  # its manifest holds the setup cell's fingerprint
    text = "\n".join(c.source for c in nb.cells)
    assert "colab.research.google.com/github/uni-x/vae-2027/blob/t2027.1/notebooks/kl_theory/kl_theory.ipynb" in text
    assert '"vaecourse @ git+https://github.com/uni-x/vae-2027.git@t2027.1#subdirectory=helpers"' in text
    assert COURSE.config.pip_url not in text
    assert [c.get("outputs") for c in nb.cells] == outputs  # outputs kept (nbval)
    assert apply_course_config(nb, fork, "kl_theory") == []  # idempotent
    with pytest.raises(CourseConfigError, match="github"):
        badge_url(CourseConfig(repository="https://gitlab.com/a/b"), "kl_theory")


def test_check_release_notices_a_source_out_of_step() -> None:
    from dataclasses import replace

    from autograder.pipeline.release import sync_source

    fork = replace(Course.default(), config=CourseConfig(repository="https://github.com/o/n", ref="x1"))
    assert sync_source(Course.default(), "kl_theory", write=False) == []
    assert sync_source(fork, "kl_theory", write=False) == ["setup cell", "badge", "submission check cell"]


# ---- the install block's logic, run with a fake pip and fake package metadata -------------
def _run_block(monkeypatch: pytest.MonkeyPatch, installed: str | None, imported: bool = False):
    block = install_block(CourseConfig(repository="https://github.com/o/n", ref="v9"), version="1.2.3")
    state = {"version": installed}
    calls: list[list[str]] = []

    def version(name: str) -> str:
        assert name == "vaecourse"
        if state["version"] is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return state["version"]

    def run(cmd: list[str], check: bool = False, **kw):  # noqa: ANN202
        calls.append(cmd)
        state["version"] = "1.2.3"
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(subprocess, "run", run)
    if imported:
        monkeypatch.setitem(sys.modules, "vaecourse", object())
    else:
        monkeypatch.delitem(sys.modules, "vaecourse", raising=False)
    namespace: dict = {}
    exec(compile(block, "setup", "exec"), namespace)
    return calls


def test_block_does_nothing_when_the_right_version_is_there(monkeypatch, capsys) -> None:
    assert _run_block(monkeypatch, "1.2.3") == []
    assert capsys.readouterr().out == "vaecourse 1.2.3 is installed, as this notebook expects.\n"


def test_block_installs_the_pinned_build_when_missing(monkeypatch, capsys) -> None:
    calls = _run_block(monkeypatch, None)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q",
                      "vaecourse @ git+https://github.com/o/n.git@v9#subdirectory=helpers"]]
    out = capsys.readouterr().out
    assert "Installing vaecourse 1.2.3 (found: none) from git+https://github.com/o/n.git@v9" in out
    assert out.endswith("Installed vaecourse 1.2.3.\n")


def test_block_replaces_another_version(monkeypatch, capsys) -> None:
    calls = _run_block(monkeypatch, "1.0.0")
    assert len(calls) == 1 and calls[0][-3:-1] == ["--force-reinstall", "--no-deps"]
    assert "(found: 1.0.0)" in capsys.readouterr().out


def test_block_asks_for_a_restart_when_another_version_is_imported(monkeypatch) -> None:
    with pytest.raises(RuntimeError, match="restart the kernel"):
        _run_block(monkeypatch, "1.0.0", imported=True)


def test_the_expected_version_is_the_package_version() -> None:
    import vaecourse

    assert package_version() == vaecourse.__version__
    assert f'"{vaecourse.__version__}"' in install_block(COURSE.config) and BEGIN in install_block(COURSE.config)
