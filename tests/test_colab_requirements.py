"""requirements-colab.txt: Colab's versions, and a helpers package that leaves them alone.

The Colab-versions check itself (`make colab-check`, .ci/colab-versions) grades every
assignment inside a venv built from requirements-colab.txt; these tests keep that file
well formed and check, without installing anything, what matters most for students:
installing `vaecourse` in Colab must not upgrade or downgrade any of Colab's libraries.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
COLAB_REQUIREMENTS = ROOT / "requirements-colab.txt"


def _generator():
    spec = importlib.util.spec_from_file_location("colab_requirements", ROOT / ".ci" / "colab_requirements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(path: Path) -> dict[str, str]:
    gen = _generator()
    return {name: version for name, (_, version) in gen.parse_freeze(path.read_text()).items()}


def _header(key: str) -> str:
    for line in COLAB_REQUIREMENTS.read_text().splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"requirements-colab.txt has no '# {key}:' header line")


def test_header_names_its_source_and_python() -> None:
    assert "googlecolab/backend-info" in _header("source")
    assert re.search(r"\b[0-9a-f]{12,40}\b", _header("source")), "the source names no commit"
    colab_python = Version(_header("colab-python"))
    assert _header("python") == f"{colab_python.major}.{colab_python.minor}"


def test_every_line_is_an_exact_pin() -> None:
    for line in COLAB_REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9][\w.\-]*==[\w.]+", line), f"not an exact pin: {line!r}"


def test_frameworks_and_grading_tools_are_pinned() -> None:
    pins = _pins(COLAB_REQUIREMENTS)
    for name in ("tensorflow", "keras", "torch", "numpy", "scipy", "matplotlib", "pillow", "ipykernel"):
        assert name in pins, f"{name} is not pinned"
    assert "tensorflow-cpu" not in pins, "Colab ships the full `tensorflow` wheel"
    assert "torchvision" not in pins, "the course does not use torchvision"
    course = _pins(ROOT / "requirements.txt")
    for tool in ("nbgrader", "nbval"):  # not in Colab: the course's versions
        assert pins[tool] == course[tool], f"{tool}: requirements-colab.txt and requirements.txt differ"


@pytest.mark.parametrize("extra", [None, "tf", "torch"])
def test_installing_vaecourse_keeps_colabs_versions(extra: str | None) -> None:
    """Every requirement of the helpers package (and its extras) is met by Colab's version."""
    project = tomllib.loads((ROOT / "helpers" / "pyproject.toml").read_text())["project"]
    required = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    pins = _pins(COLAB_REQUIREMENTS)
    for text in required:
        req = Requirement(text)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"vaecourse needs {req.name}, which Colab does not ship"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"vaecourse requires {text} but Colab has {req.name} {pins[name]}: installing it "
            "in Colab would replace Colab's version"
        )


def test_generator_reads_colab_freeze_lines() -> None:
    gen = _generator()
    freeze = "\n".join([
        "torch==2.11.0+cu128",
        "torch_geometric @ git+https://example.invalid/pyg",  # URL installs are skipped
        "Keras==3.13.2",
        "ml_dtypes==0.6.0  # comment",
        "",
    ])  # fmt: skip
    pins = gen.parse_freeze(freeze)
    assert pins == {"torch": ("torch", "2.11.0+cu128"), "keras": ("Keras", "3.13.2"),
                    "ml-dtypes": ("ml_dtypes", "0.6.0")}  # fmt: skip
    assert gen.public_version("2.11.0+cu128") == "2.11.0"
    assert gen.public_version("3.13.2") == "3.13.2"


def test_generator_finds_the_constraint_pip_blames() -> None:
    gen = _generator()
    output = """ERROR: Cannot install nbgrader==0.9.6 because these package versions have conflicting dependencies.

The conflict is caused by:
    nbgrader 0.9.6 depends on ipython>=8.10.0
    The user requested (constraint) ipython==7.34.0
"""
    assert gen.conflict(output) == ("ipython", "nbgrader 0.9.6 depends on ipython>=8.10.0")
    assert gen.conflict("ERROR: No matching distribution found for tensorflow==9.9") is None
