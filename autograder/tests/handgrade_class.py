"""A small class of the test course, autograded and ready for hand grading.

Used by the hand-grading tests and the browser test: two students of ``toy_vae`` uploaded
through course-site file names, collected and autograded for real (NumPy kernels, seconds).
``Ada`` (id 20001) uploaded late (the site's ``LATE_`` flag), wrote an answer to the written
question and added a cell of her own before it whose outputs (a number and a figure) exist
only in her upload; ``Bo`` (20002) handed in the reference code and left the written answer
blank (nbgrader gives it zero, no grader needed). The working folder is inside the course root, as for a real course.
"""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import nbformat

from autograder.course import Course

ADA, BO = "20001", "20002"
ADA_ANSWER = "Because z = mu + exp(logvar/2) * eps is a deterministic function of mu and logvar; eps has no parameters."
OWN_NUMBER = "my full-profile run: test ELBO -97.31 nats"


def png(width: int = 40, height: int = 24) -> str:
    """A small PNG (an orange gradient) as base64, without any imaging library."""
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in (255, 120 + x * 3 % 120, 0))
                    for _ in range(height))  # fmt: skip

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))  # fmt: skip
    return base64.b64encode(raw).decode()


def ada_notebook(course: Course) -> nbformat.NotebookNode:
    """Ada's upload: reference code, her written answer, and her own run's outputs."""
    from autograder.proofs.build import build_notebook, read_spec, release_of

    nb = build_notebook(release_of(course, "toy_vae"), read_spec(course, "toy_vae"), {"written_trick": ADA_ANSWER})
    at = next(i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
              == "written_trick")  # fmt: skip
    own = nbformat.v4.new_code_cell("print(my_run())\nplot_my_run()")
    own.outputs = [nbformat.v4.new_output("stream", name="stdout", text=OWN_NUMBER + "\n"),
                   nbformat.v4.new_output("display_data", data={"image/png": png(), "text/plain": "<Figure>"})]  # fmt: skip
    nb.cells.insert(at - 1, own)  # above the question, as a student adds a cell
    return nb


def build_class(root: Path) -> Course:
    """The test course under ``root`` (work folder ``root/work``), collected and autograded."""
    from autograder.pipeline.collect import collect
    from autograder.pipeline.grade import prepare_gradebook
    from autograder.pipeline.run import run_autograde
    from autograder.proofs.build import build_notebook, read_spec, release_of

    from .conftest import make_toy_course

    course = make_toy_course(root)
    course = course.with_work(root / "work")
    prepare_gradebook(course, ["toy_vae", "toy_quiz"])
    downloads = root / "downloads"
    downloads.mkdir()
    nbformat.write(ada_notebook(course), downloads / f"Lovelace_LATE_{ADA}_1_toy_vae.ipynb")
    bo = build_notebook(release_of(course, "toy_vae"), read_spec(course, "toy_vae"), {"written_trick": "YOUR ANSWER HERE"})
    nbformat.write(bo, downloads / f"Bo_{BO}_1_toy_vae.ipynb")
    collect(course, downloads, ["toy_vae"])
    run_autograde(course, ["toy_vae"], jobs=1)
    return course
