"""environment.yml and requirements.txt pin the same stack, and the package stays loose."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _requirement_lines(lines: list[str]) -> dict[str, str]:
    """Map normalized package names to their version spec ('' when unpinned)."""
    pins: dict[str, str] = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", line)
        assert match, f"unparsable requirement {raw!r}"
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        pins[name] = match.group(2).replace(" ", "")
    return pins


def _requirements_txt() -> dict[str, str]:
    return _requirement_lines((ROOT / "requirements.txt").read_text().splitlines())


def _environment_yml() -> tuple[dict, dict[str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip section"
    return env, _requirement_lines(pip_sections[0])


def test_requirements_parser_sees_pins() -> None:
    assert _requirement_lines(["torch==2.13.0  # cpu", "Keras==3.15.1", "pyyaml"]) == {
        "torch": "==2.13.0",
        "keras": "==3.15.1",
        "pyyaml": "",
    }


def test_environment_yml_and_requirements_agree() -> None:
    _, conda_pins = _environment_yml()
    pip_pins = _requirements_txt()
    assert conda_pins == pip_pins, (
        "environment.yml's pip section and requirements.txt differ: "
        f"only in requirements.txt {sorted(set(pip_pins.items()) - set(conda_pins.items()))}, "
        f"only in environment.yml {sorted(set(conda_pins.items()) - set(pip_pins.items()))}"
    )


def test_environment_yml_uses_python_311_and_installs_helpers() -> None:
    env, _ = _environment_yml()
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ./helpers" in pip_section


def test_the_stack_of_developers_md_is_pinned() -> None:
    pins = _requirements_txt()
    for name, version in {
        "tensorflow-cpu": "2.21.0",
        "keras": "3.15.1",
        "torch": "2.13.0",
        "nbgrader": "0.9.6",
        "nbval": "0.11.0",
    }.items():
        assert pins.get(name) == f"=={version}", f"{name} must be pinned to {version}"
    assert "torchvision" not in pins, "torchvision has no CPU wheel that matches torch 2.13"


def test_helpers_package_keeps_its_dependencies_loose() -> None:
    """Colab brings its own TensorFlow and PyTorch: the package must not force versions."""
    project = tomllib.loads((ROOT / "helpers" / "pyproject.toml").read_text())["project"]
    required = project["dependencies"]
    assert not any(re.search(r"==", dep) for dep in required), required
    names = {re.split(r"[<>=!~ ]", dep)[0].lower() for dep in required}
    assert not names & {"tensorflow", "tensorflow-cpu", "keras", "torch"}, (
        "frameworks belong in optional extras, not in the required dependencies"
    )
    extras = [dep for deps in project.get("optional-dependencies", {}).values() for dep in deps]
    assert not [d for d in required + extras if re.match(r"(psycopg|kubernetes)", d, re.I)], (
        "the instructors' database driver and deploy tools are not for students"
    )
    assert "psycopg[binary]" in _requirements_txt()  # pinned for instructors and CI
