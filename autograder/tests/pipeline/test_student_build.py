"""The student copy of the helpers package: fill-ins stripped, still importable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.pipeline.student_build import BEGIN, build_student_helpers, strip_fill_ins

REPO = Path(__file__).resolve().parents[3]

SOURCE = '''\
def kl(mu, logvar):
    """KL to N(0, 1)."""
    # BEGIN FILL-IN kl
    inner = 1 + logvar - mu**2
    return -0.5 * inner
    # END FILL-IN kl


class Decoder:
    def __init__(self):
        # BEGIN FILL-IN Decoder
        self.layers = [1, 2]
        # END FILL-IN Decoder
'''


def test_strip_replaces_bodies_keeps_signatures() -> None:
    out, names = strip_fill_ins(SOURCE)
    assert names == ["kl", "Decoder"]
    assert "inner = 1" not in out and "self.layers" not in out
    assert "def kl(mu, logvar):" in out and '"""KL to N(0, 1)."""' in out
    namespace: dict = {}
    exec(compile(out, "x.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="kl"):
        namespace["kl"](0, 0)
    with pytest.raises(NotImplementedError, match="Decoder"):
        namespace["Decoder"]()


def test_keep_leaves_a_fill_in() -> None:
    out, names = strip_fill_ins(SOURCE, keep={"kl"})
    assert names == ["Decoder"] and "inner = 1" in out


@pytest.mark.parametrize(
    "bad",
    [
        "def f():\n    # BEGIN FILL-IN a\n    pass\n",
        "def f():\n    # BEGIN FILL-IN a\n    # BEGIN FILL-IN b\n",
        "def f():\n    # BEGIN FILL-IN a\n    pass\n    # END FILL-IN b\n",
        "# BEGIN FILL-IN top\nx = 1\n# END FILL-IN top\n",
    ],
)
def test_bad_markers_are_errors(bad: str) -> None:
    with pytest.raises(ValueError):
        strip_fill_ins(bad)


def test_student_helpers_build_imports_and_hides_answers(tmp_path: Path) -> None:
    out, names = build_student_helpers(REPO / "helpers", tmp_path / "helpers")
    assert (out / "pyproject.toml").is_file()
    def markers(root: Path) -> list[str]:
        return [line for p in root.rglob("*.py") for line in p.read_text().splitlines() if BEGIN.match(line)]

    assert markers(out / "src") == []
    assert len(names) == len(markers(REPO / "helpers" / "src"))
    code = "import pkgutil, importlib, vaecourse\n" \
           "mods = [m.name for m in pkgutil.walk_packages(vaecourse.__path__, 'vaecourse.')]\n" \
           "[importlib.import_module(m) for m in mods]\nprint(len(mods))"
    env = {**os.environ, "PYTHONPATH": str(out / "src"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    found = subprocess.run([sys.executable, "-c", "import vaecourse; print(vaecourse.__file__)"], env=env,
                           capture_output=True, text=True, cwd=tmp_path).stdout  # fmt: skip
    assert str(out) in found
