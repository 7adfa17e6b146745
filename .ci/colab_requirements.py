"""Write requirements-colab.txt from Colab's published pip freeze.

Colab publishes the packages of its runtime in github.com/googlecolab/backend-info
(``pip-freeze.gpu.txt``, ``os-info-gpu.txt``). This script turns that list into a fully
pinned requirements file that installs, from PyPI, Colab's versions of everything the
notebooks, the helpers package and the grader need, plus the grading tools Colab lacks:

1. every ``name==version`` line of the freeze becomes a constraint (a local version such as
   ``+cu128`` is dropped: PyPI has only the plain release); URL lines are skipped;
2. CUDA libraries (``nvidia-*``, ``cuda-*``) are not constrained: PyPI's torch wheel brings
   the CUDA build it was made for (Colab's ``+cu128`` build comes from download.pytorch.org);
3. pip resolves the top-level packages below with ``--dry-run --report`` in the target
   Python; a constraint that conflicts with a grading tool (nbgrader 0.9.6 needs IPython 8
   and notebook 7, Colab ships IPython 7 and notebook 6) is dropped and the reason recorded;
4. the resolved set is written pinned, grouped: Colab's versions, versions that differ from
   Colab (with Colab's version and why), packages Colab does not ship.

Usage (run by ``.ci/colab-versions --refresh``)::

    python .ci/colab_requirements.py pip-freeze.gpu.txt --python build/colab-venv/bin/python \
        --source "googlecolab/backend-info pip-freeze.gpu.txt at <commit> (<date>)" \
        --colab-python 3.13.15 -o requirements-colab.txt
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a student's kernel imports (notebooks, vaecourse) and what the grader runs, named
# without versions: the constraints from Colab's freeze choose the versions.
KERNEL_PACKAGES = [
    "tensorflow", "keras", "torch", "numpy", "scipy", "matplotlib", "pillow", "pandas",
    "tqdm", "h5py", "ipykernel", "pyyaml", "pytest",
]  # fmt: skip
# Grading tools Colab does not ship: their versions come from requirements.txt.
GRADER_PACKAGES = ["nbgrader", "nbval"]
CUDA_PREFIXES = ("nvidia-", "cuda-")
# Kernel-side packages whose Colab version the grader's environment cannot hold (nbgrader
# 0.9.6 needs IPython 8): .ci/colab-versions installs Colab's version of these, and what they
# need, into a small overlay on the venv and runs the notebooks in that exact kernel.
KERNEL_OVERLAY = {"ipython"}
MAX_DROPS = 20


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_freeze(text: str) -> dict[str, tuple[str, str]]:
    """``{normalized name: (name as spelled, version)}`` of the ``name==version`` lines."""
    pins: dict[str, tuple[str, str]] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)==([^\s;]+)$", line)
        if match:
            pins[normalize(match.group(1))] = (match.group(1), match.group(2))
    return pins


def public_version(version: str) -> str:
    """``2.11.0+cu128`` -> ``2.11.0`` (PyPI holds no local versions)."""
    return version.split("+", 1)[0]


def course_pins() -> dict[str, str]:
    """The grading tools' pins of requirements.txt (``{normalized name: version}``)."""
    pins = {}
    for name, (_, version) in parse_freeze((ROOT / "requirements.txt").read_text()).items():
        pins[name] = version
    return pins


def resolve(python: str, requirements: list[str], constraints: dict[str, str]) -> tuple[dict, str]:
    """Run pip's resolver in ``python``; return (report or {}, pip's output)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfile = Path(tmp) / "constraints.txt"
        cfile.write_text("".join(f"{n}=={v}\n" for n, v in sorted(constraints.items())))
        report = Path(tmp) / "report.json"
        cmd = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed",
               "--report", str(report), "-c", str(cfile), *requirements]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            return {}, output
        return json.loads(report.read_text()), output


def conflict(output: str) -> tuple[str, str] | None:
    """The constraint pip blames for a conflict, and the requirement it conflicts with."""
    match = re.search(r"The user requested \(constraint\) ([A-Za-z0-9_.\-]+)==", output)
    if not match:
        return None
    name = match.group(1)
    because = re.findall(r"^\s+(\S+ \S+ depends on [^\n]+)$", output, re.M)
    why = next((b for b in because if normalize(name) in normalize(b.split(" depends on ")[1])), "")
    return name, why.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("freeze", type=Path, help="Colab's pip-freeze.gpu.txt")
    parser.add_argument("--python", required=True, help="interpreter of Colab's Python version")
    parser.add_argument("--source", required=True, help="where the freeze came from (header)")
    parser.add_argument("--colab-python", required=True, help="Colab's Python version, e.g. 3.13.15")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "requirements-colab.txt")
    args = parser.parse_args(argv)

    colab = parse_freeze(args.freeze.read_text())
    constraints = {
        spelled: public_version(version)
        for name, (spelled, version) in colab.items()
        if not name.startswith(CUDA_PREFIXES)
    }
    grader = course_pins()
    requirements = [*KERNEL_PACKAGES, *(f"{p}=={grader[p]}" for p in GRADER_PACKAGES)]
    dropped: dict[str, str] = {}
    for _ in range(MAX_DROPS):
        report, output = resolve(args.python, requirements, constraints)
        if report:
            break
        blamed = conflict(output)
        if blamed is None:
            sys.stderr.write(output)
            raise SystemExit("pip could not resolve Colab's versions (output above)")
        name, why = blamed
        spelled = next(s for s in constraints if normalize(s) == normalize(name))
        del constraints[spelled]
        dropped[normalize(name)] = why
        print(f"dropped Colab's {spelled}=={colab[normalize(name)][1]}: {why}", file=sys.stderr)
    else:
        raise SystemExit(f"more than {MAX_DROPS} of Colab's versions conflict: giving up")

    python_version = report["environment"]["python_full_version"]
    resolved = {normalize(i["metadata"]["name"]) for i in report["install"]}
    overlay = []
    for key in sorted(KERNEL_OVERLAY & dropped.keys()):
        spelled, version = colab[key]
        sub, output = resolve(args.python, [f"{spelled}=={public_version(version)}"], constraints)
        if not sub:
            sys.stderr.write(output)
            raise SystemExit(f"pip could not resolve Colab's {spelled}=={version} on its own")
        overlay += [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in sub["install"]
                    if normalize(i["metadata"]["name"]) == key
                    or normalize(i["metadata"]["name"]) not in resolved]  # fmt: skip
    same, differ, cuda, extra = [], [], [], []
    for item in sorted(report["install"], key=lambda i: normalize(i["metadata"]["name"])):
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        key = normalize(name)
        if key not in colab:
            (cuda if key.startswith(CUDA_PREFIXES) else extra).append(f"{name}=={version}")
        elif public_version(colab[key][1]) == version:
            same.append(f"{name}=={version}")
        else:
            why = dropped.get(key) or (
                "CUDA library of PyPI's torch build" if key.startswith(CUDA_PREFIXES) else "resolver"
            )
            differ.append(f"{name}=={version}  # Colab: {colab[key][1]}; {why}")
    lines = [
        "# Colab's runtime versions, for the Colab-versions check (.ci/colab-versions,",
        "# `make colab-check`). Generated by .ci/colab_requirements.py; do not edit by hand.",
        f"# source: {args.source}",
        f"# colab-python: {args.colab_python}",
        f"# python: {'.'.join(python_version.split('.')[:2])}",
        f"# resolved with: Python {python_version}",
        "# colab-kernel: " + " ".join(sorted(set(overlay), key=str.lower)),
        "# (Colab's versions that nbgrader cannot share a venv with: .ci/colab-versions also",
        "# runs the source notebooks in a kernel with these, on top of the venv)",
        "# torch: PyPI's build of Colab's release (Colab's +cu128/+cpu builds come from",
        "# download.pytorch.org); its CUDA libraries are the ones PyPI's torch requires.",
        "",
        f"# --- Colab's versions ({len(same)}) ---",
        *same,
        "",
        f"# --- not Colab's version ({len(differ)}) ---",
        *differ,
        "",
        f"# --- not in Colab's freeze: CUDA libraries of PyPI's torch build ({len(cuda)}) ---",
        *cuda,
        "",
        f"# --- not in Colab's freeze: grading tools and what they need ({len(extra)}) ---",
        *extra,
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}: {len(same)} Colab versions, {len(differ)} differ, "
          f"{len(cuda) + len(extra)} not in Colab's freeze")
    return 0


if __name__ == "__main__":
    sys.exit(main())
