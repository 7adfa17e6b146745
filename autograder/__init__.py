"""The VAE course's grading pipeline: a thin layer over nbgrader's own commands.

``python -m autograder --help`` lists the commands (release, samples, collect, autograde,
feedback, export, all, demo, student-helpers). See ``autograder/README.md``.
"""

ASSIGNMENTS: tuple[str, ...] = ("mnist_vae", "cifar10_vae", "mmd_vae", "celeba_vae", "kl_theory")
