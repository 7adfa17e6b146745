"""The VAE course's grading pipeline: a thin layer over nbgrader's own commands.

``python -m autograder --help`` lists the commands; ``autograder/README.md`` explains them and
CONTRIBUTING.md shows the layers (``nb`` -> ``sandbox`` -> ``pipeline`` -> ``proofs``).
"""
