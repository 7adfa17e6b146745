"""nbgrader configuration of the VAE course.

The settings live in ``autograder/pipeline/settings.py`` (one source of truth for
``python -m autograder`` and for plain nbgrader), the course's folders in
``autograder/course.py``. To use nbgrader's own commands, run them from this folder
(nbgrader reads ``nbgrader_config.py`` from the working directory), e.g.::

    cd autograder && nbgrader generate_assignment mnist_vae --force
    cd autograder && nbgrader zip_collect mnist_vae     # course-site file names (course.toml)
    cd autograder && nbgrader autograde mnist_vae --student=12345

``autograde`` grades against the assignment's student build and repairs each submission first,
as ``python -m autograder autograde`` does (:mod:`autograder.pipeline.plain`); it needs one
assignment named and the grading data (``VAECOURSE_DATA``).

The formgrader needs the course root as its server root: open it with
``python -m autograder formgrader`` from the repository root (not ``jupyter server`` here).

Sources: ``solutions/<assignment>/``; releases: ``notebooks/<assignment>/``; submissions,
autograded notebooks, feedback and the gradebook: ``autograder/course/`` (git-ignored; the
``VAECOURSE_COURSE_DIR`` environment variable moves it). Grading kernels run in the sandbox
with ``VAECOURSE_PROFILE=ci`` and a per-cell timeout (``VAECOURSE_CELL_TIMEOUT``, 60 s).
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.course import Course  # noqa: E402
from autograder.pipeline.plain import configure  # noqa: E402

c = get_config()  # noqa: F821 (injected by traitlets)
# the course's settings, with the protections of `python -m autograder` for the command being run
# (autograde: the assignment's student build and the repair; zip_collect: the course site's names)
configure(c, Course.default(), sys.argv)
