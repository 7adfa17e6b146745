"""The parts of each notebook written from ``course.toml``: the Colab badge and the install block.

Every notebook opens with an "Open in Colab" badge and a setup cell (nbgrader ``grade_id:
setup``) whose first lines make sure the right build of ``vaecourse`` is importable. Both name
the term's public repository and tag, so :func:`apply_course_config` writes them from the
course configuration (:class:`~autograder.course.CourseConfig`): ``python -m autograder
release`` rewrites them in the sources (``solutions/``, outputs kept) before generating the
releases, and ``check-release`` fails when a source is out of step with ``course.toml``.
Nothing else in the repository names the install URL.

The install block (between :data:`BEGIN` and :data:`END`) is plain Python, so it works in
Colab, local Jupyter, Kaggle and JupyterHub alike: when ``vaecourse`` is missing or has
another version than the release expects (the helpers package's version), it installs the
pinned student build with pip and says so; when the right version is there (the grader, CI)
it only prints that.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from nbformat import NotebookNode

from ..course import REPO, CourseConfig, CourseConfigError

BEGIN = "# --- vaecourse install (written by `python -m autograder release` from course.toml) ---"
END = "# --- end of vaecourse install ---"

#: The install block; ``{version}`` and ``{url}`` come from the configuration.
TEMPLATE = '''\
{begin}
import importlib, importlib.metadata, os, subprocess, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2"); os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
VAECOURSE_VERSION, VAECOURSE_URL = "{version}", "{url}"
try:
    _found = importlib.metadata.version("vaecourse")
except importlib.metadata.PackageNotFoundError:
    _found = None
if _found == VAECOURSE_VERSION:
    print(f"vaecourse {{_found}} is installed, as this notebook expects.")
elif "vaecourse" in sys.modules:
    raise RuntimeError(f"vaecourse {{_found}} is already imported: restart the kernel, then run this cell again.")
else:
    print(f"Installing vaecourse {{VAECOURSE_VERSION}} (found: {{_found or 'none'}}) from {{VAECOURSE_URL.split(' @ ')[-1]}}")
    _extra = ["--force-reinstall", "--no-deps"] if _found else []
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *_extra, VAECOURSE_URL], check=True)
    importlib.invalidate_caches()
    print(f"Installed vaecourse {{importlib.metadata.version('vaecourse')}}.")
{end}'''

_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
#: The old, hand-written install lines (before the block existed), replaced on first release.
_LEGACY = re.compile(
    r'\Aimport os, sys\nos\.environ\.setdefault\("TF_CPP_MIN_LOG_LEVEL", "2"\); '
    r'os\.environ\.setdefault\("TF_ENABLE_ONEDNN_OPTS", "0"\)\n'
    r'if "google\.colab" in sys\.modules:\n    %pip install -q "[^"\n]*"'
)
_BADGE = re.compile(r"https://colab\.research\.google\.com/github/[^\s\"')]+?/notebooks/(?P<a>[\w-]+)/(?P=a)\.ipynb")
#: the badge's image (loaded from colab.research.google.com: offline, a broken image)
_BADGE_IMAGE_MD = re.compile(r"!\[(?P<alt>[^\]]*)\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)")
_BADGE_IMAGE_HTML = re.compile(r"<img\b[^>]*src=[\"']https://colab\.research\.google\.com/assets/colab-badge\.svg[\"'][^>]*>")
_GITHUB = re.compile(r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$")


def package_version(helpers: Path | None = None) -> str:
    """The version of the helpers package (``helpers/pyproject.toml``): what setup cells expect."""
    pyproject = (helpers or REPO / "helpers") / "pyproject.toml"
    return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


def install_block(config: CourseConfig, version: str | None = None) -> str:
    """The setup cell's install block for this configuration."""
    return TEMPLATE.format(begin=BEGIN, end=END, version=version or package_version(), url=config.pip_url)


def badge_url(config: CourseConfig, assignment: str) -> str:
    """The "Open in Colab" link of a release notebook in the term's public repository."""
    m = _GITHUB.match(config.repository.strip())
    if not m:
        raise CourseConfigError(
            f"[student_package] repository must be a https://github.com/<owner>/<name> URL (Colab "
            f"opens notebooks from GitHub), not {config.repository!r}"
        )
    return (f"https://colab.research.google.com/github/{m['owner']}/{m['name']}/blob/{config.ref}"
            f"/notebooks/{assignment}/{assignment}.ipynb")  # fmt: skip


def offline_badges(text: str) -> str:
    """``text`` with each Colab badge image replaced by the words "Open in Colab" (the link is
    kept): what graders and students read in the formgrader and in feedback, which must not
    load anything from the network."""
    text = _BADGE_IMAGE_MD.sub(lambda m: m["alt"].strip() or "Open in Colab", text)
    return _BADGE_IMAGE_HTML.sub("Open in Colab", text)


def offline_notebook(nb: NotebookNode) -> NotebookNode:
    """:func:`offline_badges` on every markdown cell of ``nb``, in place; returns ``nb``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "colab-badge" in cell.source:
            cell.source = offline_badges(cell.source)
    return nb


def setup_cell_index(nb: NotebookNode) -> int | None:
    """Index of the setup cell (nbgrader ``grade_id: setup``), or None."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade_id") == "setup":
            return i
    return None


def apply_course_config(nb: NotebookNode, config: CourseConfig, assignment: str,
                        version: str | None = None) -> list[str]:  # fmt: skip
    """Write the badge, the install block and the last cell's pre-submission check
    (:mod:`~autograder.pipeline.submission_cell`) of ``nb`` from ``config`` in place; what changed.

    Raises:
        ValueError: when the notebook has no setup cell or no Colab badge.
    """
    changed: list[str] = []
    index = setup_cell_index(nb)
    if index is None:
        raise ValueError(f"{assignment}: no setup cell (a code cell with nbgrader grade_id 'setup')")
    cell = nb.cells[index]
    block = install_block(config, version)
    if _BLOCK.search(cell.source):
        new = _BLOCK.sub(lambda _: block, cell.source, count=1)
    elif _LEGACY.match(cell.source):
        new = _LEGACY.sub(lambda _: block, cell.source, count=1)
    else:
        raise ValueError(f"{assignment}: the setup cell does not start with the vaecourse install block")
    if new != cell.source:
        cell.source = new
        changed.append("setup cell")
    url = badge_url(config, assignment)
    badges = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        new = _BADGE.sub(lambda _: url, cell.source)
        badges += len(_BADGE.findall(cell.source))
        if new != cell.source:
            cell.source = new
            changed.append("badge")
    if not badges:
        raise ValueError(f"{assignment}: no 'Open in Colab' badge in a markdown cell")
    from .submission_cell import apply_submission_cell

    return changed + apply_submission_cell(nb, config, assignment)


def setup_block_of(nb: NotebookNode) -> str | None:
    """The install block of a notebook's setup cell (None when it has none)."""
    index = setup_cell_index(nb)
    m = _BLOCK.search(nb.cells[index].source) if index is not None else None
    return m.group(0) if m else None
