"""The VAE course's grading pipeline: a thin layer over nbgrader's own commands.

``python -m autograder --help`` lists the commands; ``autograder/README.md`` explains them and
CONTRIBUTING.md shows the layers (``nb`` -> ``sandbox`` -> ``pipeline`` -> ``proofs``).
"""

import sys as _sys

# jsonschema (under nbformat, which nbgrader and the grader import) imports rfc3987_syntax when
# it is installed (jupyter_server's dependencies install it), only to check the "iri" string
# format that no notebook or gradebook schema uses; that import builds a grammar: 1.4 CPU-s in
# every grading process. Without it jsonschema leaves that one format unchecked.
_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
