"""Planted near-copies among the toy demo's students, for the similarity check and the class report.

``Orig`` wrote an unusual version of both fill-ins of ``toy_vae``; ``Copycat`` handed in the
same code with every variable renamed, independent lines reordered and comments added (a
near-copy). ``Honest1`` and ``Honest2`` each wrote their own, different, unusual version. The
check must list the pair (Orig, Copycat) and no pair with an honest student.
"""

from __future__ import annotations

ORIG, COPYCAT, HONEST1, HONEST2 = "30001", "30002", "30003", "30004"
LABELS = {ORIG: "Orig", COPYCAT: "Copycat", HONEST1: "Honest1", HONEST2: "Honest2"}

ANSWERS: dict[str, dict[str, str]] = {
    ORIG: {
        "reparameterize": (
            "def reparameterize(mu, logvar, eps):\n"
            "    half_log = logvar * 0.5\n"
            "    spread = np.exp(half_log)\n"
            "    noise_term = eps * spread\n"
            "    sample = np.add(mu, noise_term)\n"
            "    return sample\n"
        ),
        "kl_divergence": (
            "def kl_divergence(mu, logvar):\n"
            "    variance = np.exp(logvar)\n"
            "    mean_sq = np.square(mu)\n"
            "    inside = 1.0 + logvar - mean_sq - variance\n"
            "    per_dim = -0.5 * inside\n"
            "    summed = np.sum(per_dim, axis=-1)\n"
            "    return summed\n"
        ),
    },
    COPYCAT: {  # Orig's code, renamed, reordered, commented
        "reparameterize": (
            "def reparameterize(mu, logvar, eps):\n"
            "    # halve the log variance first\n"
            "    h = logvar * 0.5\n"
            "    s = np.exp(h)  # the standard deviation\n"
            "    n = eps * s\n"
            "    z = np.add(mu, n)\n"
            "    return z\n"
        ),
        "kl_divergence": (
            "def kl_divergence(mu, logvar):\n"
            "    m2 = np.square(mu)\n"
            "    v = np.exp(logvar)\n"
            "    inner = 1.0 + logvar - m2 - v\n"
            "    d = -0.5 * inner\n"
            "    out = np.sum(d, axis=-1)\n"
            "    return out\n"
        ),
    },
    HONEST1: {
        "reparameterize": (
            "def reparameterize(mu, logvar, eps):\n"
            "    std = np.sqrt(np.exp(logvar))\n"
            "    return std * eps + mu\n"
        ),
        "kl_divergence": (
            "def kl_divergence(mu, logvar):\n"
            "    pieces = [np.exp(lv) + m ** 2 - 1.0 - lv\n"
            "              for m, lv in zip(np.moveaxis(mu, -1, 0), np.moveaxis(logvar, -1, 0))]\n"
            "    return 0.5 * np.sum(np.stack(pieces), axis=0)\n"
        ),
    },
    HONEST2: {
        "reparameterize": (
            "def reparameterize(mu, logvar, eps):\n"
            "    return mu + eps * np.power(np.e, logvar / 2.0)\n"
        ),
        "kl_divergence": (
            "def kl_divergence(mu, logvar):\n"
            "    trace_term = np.exp(logvar).sum(axis=-1)\n"
            "    norm_term = np.einsum('...i,...i->...', mu, mu)\n"
            "    logdet = logvar.sum(axis=-1)\n"
            "    k = mu.shape[-1]\n"
            "    return 0.5 * (trace_term + norm_term - k - logdet)\n"
        ),
    },
}


def planted_downloads(course, folder):  # noqa: ANN001, ANN201 (Course, Path -> Path)
    """The planted students' notebooks of ``toy_vae`` as course-site downloads in ``folder``
    (Copycat's upload carries the site's LATE flag); returns the folder."""
    import nbformat

    from autograder.proofs.build import build_notebook, read_spec, release_of

    release, spec = release_of(course, "toy_vae"), read_spec(course, "toy_vae")
    folder.mkdir(parents=True, exist_ok=True)
    for student, answers in ANSWERS.items():
        late = "LATE_" if student == COPYCAT else ""
        nbformat.write(build_notebook(release, spec, answers), folder / f"{LABELS[student]}_{late}{student}_1_toy_vae.ipynb")
    return folder
