"""nbgrader configuration of the VAE course (first version; the autograder issue extends it).

Run nbgrader from the repository root with ``--config autograder/nbgrader_config.py``
or through ``python -m autograder``. Sources live in ``solutions/<assignment>/``,
releases in ``notebooks/<assignment>/``.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 (injected by traitlets)

REPO = Path(__file__).resolve().parent.parent
COURSE_WORK = Path(os.environ.get("VAECOURSE_COURSE_DIR", REPO / "autograder" / "course"))

c.CourseDirectory.root = str(REPO)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.course_id = "vae-course"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
COURSE_WORK.mkdir(parents=True, exist_ok=True)
c.CourseDirectory.db_url = f"sqlite:///{COURSE_WORK / 'gradebook.db'}"
