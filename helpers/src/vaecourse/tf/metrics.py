"""The numbers in the CIFAR-10 and MMD notebooks' tables.

* :func:`bits_per_dim`: a negative log-likelihood (or negative ELBO) in nats per image,
  as bits per dimension of 8-bit data (the unit of the generative-modelling literature);
* :func:`dequantize`: uniformly dequantized test images, so that a continuous density's
  bits per dimension bound those of the discrete 8-bit data;
* :func:`kl_per_dimension` and :func:`active_units`: how much of the latent space a model
  uses (Burda et al., 2016: a unit is active when its posterior mean varies with x);
* :func:`mmd_to_prior`: the MMD between the aggregate posterior q(z) and the prior;
* :func:`evaluate_vae`: all of them for one model on one set of images, as a dict, and
  :func:`format_table` / :func:`plot_kl_per_dimension` to compare models side by side.

NumPy in, NumPy (or Python floats) out, except where a Keras model is evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from keras import ops
from matplotlib.figure import Figure

from .losses import Likelihood, elbo_terms, gaussian_log_likelihood, kl_gaussians
from .mmd import mmd


def bits_per_dim(nll_nats, image_shape: Sequence[int], levels: int = 256):
    """Convert a negative log-likelihood in nats per image to bits per dimension.

    The model is a density over pixel values scaled to [0, 1]. On the original scale of
    ``levels`` intensity values (0..255) the same density is ``levels`` times smaller in
    every dimension, so ``-log p`` grows by ``D * log(levels)``; dividing by ``D * log 2``
    turns nats per image into bits per dimension::

        bpd = (nll + D * log(levels)) / (D * log(2)),   D = H * W * C.

    Args:
        nll_nats: negative log-likelihood or negative ELBO, in nats per image (a number or
            an array of them).
        image_shape: the shape of one image, e.g. ``(32, 32, 3)``.
        levels: intensity levels of the original data (256 for 8-bit images).

    Returns:
        bits per dimension, with the shape of ``nll_nats``.
    """
    # BEGIN FILL-IN bits_per_dim
    num_dims = np.prod(image_shape)
    nll = np.asarray(nll_nats, dtype=np.float64)
    return (nll + num_dims * np.log(levels)) / (num_dims * np.log(2.0))
    # END FILL-IN bits_per_dim


def gaussian_likelihood(sigma: float) -> Callable:
    """The likelihood p(x|z) = N(x; sigmoid(logits), sigma^2 I) with a fixed ``sigma``.

    A proper density on continuous intensities (unlike the Bernoulli cross-entropy on
    values in (0, 1)), so its ELBO and bits per dimension are meaningful. Its
    ``-log p(x|z)`` is ``||x - mean||^2 / (2 sigma^2)`` plus a constant: the squared error,
    weighted against the KL term by ``1 / (2 sigma^2)``.

    Returns:
        ``f(x, logits) -> (batch,)`` log p(x|z) per image, for the ``likelihood=``
        argument of :func:`~vaecourse.tf.losses.compute_loss` and friends.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    logvar = 2.0 * math.log(sigma)

    def log_likelihood(x, logits):
        return gaussian_log_likelihood(x, ops.sigmoid(logits), logvar)

    log_likelihood.__name__ = f"gaussian_sigma_{sigma:g}"
    return log_likelihood


def dequantize(images: np.ndarray, seed: int = 0, levels: int = 256) -> np.ndarray:
    """Uniformly dequantized images ``(x + u) / levels``, u ~ U[0, 1), as float32 in [0, 1).

    A continuous density p evaluated on dequantized 8-bit data gives, in expectation, a
    lower bound on the log-probability of the discrete data (Theis et al., 2016), so its
    bits per dimension are an honest upper bound. On the raw values ``x / 255`` a density
    can score arbitrarily well by concentrating on the 256 grid points.

    Args:
        images: integer images with values in ``0 .. levels - 1`` (e.g. uint8).
        seed: seeds the uniform noise.
    """
    x = np.asarray(images)
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(
            f"dequantize expects the raw integer images (e.g. uint8), got dtype {x.dtype}; "
            "pass the images before preprocessing."
        )
    noise = np.random.default_rng(seed).random(x.shape)
    return ((x.astype(np.float64) + noise) / levels).astype(np.float32)


def kl_per_dimension(mean, logvar) -> np.ndarray:
    """Average over examples of KL(q(z_d|x) || N(0, 1)) for every latent dimension d.

    Args:
        mean, logvar: (N, latent_dim) parameters of q(z|x) for N inputs.

    Returns:
        (latent_dim,) float64, in nats; sums to the average KL term of the ELBO. A
        dimension with (almost) zero KL is unused: its posterior equals the prior.
    """
    kl = np.asarray(kl_gaussians(mean, logvar, 0.0, 0.0), dtype=np.float64)
    if kl.ndim != 2:
        raise ValueError(f"mean and logvar must be (N, latent_dim), got shape {kl.shape}")
    return kl.mean(axis=0)


def active_units(mean, threshold: float = 0.01) -> int:
    """The number of active latent units (Burda et al., 2016).

    Unit d is active when its posterior mean moves with the input:
    ``Var_x(E_q[z_d | x]) > threshold``, the variance taken over the examples.

    Args:
        mean: (N, latent_dim) posterior means of N inputs.
        threshold: the variance above which a unit counts as active (0.01 in the paper).
    """
    # BEGIN FILL-IN active_units
    means = np.asarray(mean, dtype=np.float64)
    variance = means.var(axis=0)
    return int((variance > threshold).sum())
    # END FILL-IN active_units


def mmd_to_prior(z, seed: int = 0, kernel: str = "rbf") -> float:
    """Unbiased MMD^2 between codes ``z`` (N, dim) and as many samples of N(0, I).

    Near 0 (it can be slightly negative) when the aggregate posterior q(z) matches the
    prior; larger when it does not. The prior samples are seeded.
    """
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or len(z) < 2:
        raise ValueError(f"z must be (N >= 2, dim), got shape {z.shape}")
    prior = np.random.default_rng(seed).standard_normal(z.shape).astype(np.float32)
    return float(mmd(z, prior, kernel=kernel, unbiased=True))


def encode_all(model, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, logvar)`` of q(z|x) for all ``images``, encoded in batches, as float32 arrays."""
    if len(images) == 0:
        raise ValueError("encode_all: no images")
    means, logvars = [], []
    for start in range(0, len(images), batch_size):
        mean, logvar = model.encode(np.asarray(images[start : start + batch_size], np.float32))
        means.append(np.asarray(mean, dtype=np.float32))
        logvars.append(np.asarray(logvar, dtype=np.float32))
    return np.concatenate(means), np.concatenate(logvars)


#: The columns of :func:`evaluate_vae`, in table order, with their meaning.
COLUMNS: dict[str, str] = {
    "ELBO": "test ELBO, nats per image (higher is better)",
    "bits/dim": "negative ELBO in bits per dimension of 8-bit data (lower is better)",
    "-log p(x|z)": "reconstruction term, nats per image",
    "KL": "KL(q(z|x) || p(z)) averaged over images, nats",
    "MSE": "mean squared error per pixel of the reconstruction from the posterior mean",
    "MMD": "unbiased MMD^2 between sampled codes and prior samples (RBF kernel)",
    "active": "active latent units: Var_x(E[z_d|x]) > 0.01",
}


def evaluate_vae(
    model,
    images: np.ndarray,
    likelihood: Likelihood = "bernoulli",
    batch_size: int = 256,
    seed: int = 0,
) -> dict[str, float]:
    """Every column of :data:`COLUMNS` for ``model`` on ``images`` (float32 NHWC in [0, 1]).

    The ELBO uses the analytic KL and one reparameterized sample per image
    (:func:`vaecourse.tf.losses.elbo_terms`); bits per dimension assume 8-bit data, so
    evaluate on :func:`dequantize`-d images when the likelihood is a continuous density.
    The MMD uses one sampled code per image (``model.reparameterize``).

    Returns:
        ``{column: value}`` plus ``"kl_per_dim"`` (an array, see :func:`kl_per_dimension`).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or len(images) < 2:
        raise ValueError(f"images must be (N >= 2, H, W, C), got shape {images.shape}")
    log_px_z, kl, sq_err, means, logvars, codes = [], [], [], [], [], []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        terms = elbo_terms(model, x, likelihood=likelihood)
        log_px_z.append(np.asarray(terms["log_px_z"], np.float64))
        kl.append(np.asarray(terms["kl"], np.float64))
        mean, logvar = model.encode(x)
        recon = np.asarray(model.decode(mean, apply_sigmoid=True), np.float64)
        sq_err.append(((recon - x) ** 2).reshape(len(x), -1).mean(axis=1))
        means.append(np.asarray(mean, np.float64))
        logvars.append(np.asarray(logvar, np.float64))
        codes.append(np.asarray(model.reparameterize(mean, logvar), np.float32))
    log_px_z_all, kl_all = np.concatenate(log_px_z), np.concatenate(kl)
    mean_all, logvar_all = np.concatenate(means), np.concatenate(logvars)
    elbo = float((log_px_z_all - kl_all).mean())
    return {
        "ELBO": elbo,
        "bits/dim": float(bits_per_dim(-elbo, images.shape[1:])),
        "-log p(x|z)": float(-log_px_z_all.mean()),
        "KL": float(kl_all.mean()),
        "MSE": float(np.concatenate(sq_err).mean()),
        "MMD": mmd_to_prior(np.concatenate(codes), seed=seed),
        "active": active_units(mean_all),
        "kl_per_dim": kl_per_dimension(mean_all, logvar_all),
    }


_DEFAULT_FORMATS = {"bits/dim": "{:.3f}", "MSE": "{:.4f}", "MMD": "{:.4f}", "active": "{:d}"}


def format_table(
    rows: Mapping[str, Mapping[str, object]],
    columns: Sequence[str] | None = None,
    formats: Mapping[str, str] | None = None,
    name: str = "model",
) -> str:
    """A fixed-width text table, one row per model.

    Args:
        rows: ``{row name: {column: value}}`` (e.g. several :func:`evaluate_vae` results).
        columns: the columns to show, in order (default: the scalar columns of the first
            row, in their order).
        formats: ``{column: format string}``; numbers default to ``{:.1f}`` (``{:.3f}`` for
            bits/dim, ``{:.4f}`` for MSE and MMD, ``{:d}`` for active units).
        name: the header of the first column.
    """
    if not rows:
        raise ValueError("format_table: no rows")
    first = next(iter(rows.values()))
    if columns is None:
        columns = [k for k, v in first.items() if np.ndim(v) == 0]
    fmt = {**_DEFAULT_FORMATS, **(formats or {})}
    cells = []
    for values in rows.values():
        missing = [c for c in columns if c not in values]
        if missing:
            raise KeyError(f"format_table: a row lacks the columns {missing}")
        cells.append([_format(values[c], fmt.get(c)) for c in columns])
    names = [str(r) for r in rows]
    first_width = max(len(name), *(len(n) for n in names))
    widths = [max(len(c), *(len(row[j]) for row in cells)) for j, c in enumerate(columns)]
    lines = [f"{name:<{first_width}}" + "".join(f"  {c:>{w}}" for c, w in zip(columns, widths, strict=True))]
    for row_name, row in zip(names, cells, strict=True):
        lines.append(
            f"{row_name:<{first_width}}" + "".join(f"  {v:>{w}}" for v, w in zip(row, widths, strict=True))
        )
    return "\n".join(lines)


def _format(value: object, fmt: str | None) -> str:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return str(value)
    if isinstance(value, int | np.integer):
        return (fmt or "{:d}").format(int(value))
    value = float(value)
    if fmt is None or fmt.endswith("d}"):
        fmt = "{:.1f}"
    return fmt.format(value)


def plot_kl_per_dimension(per_dim: Mapping[str, np.ndarray], title: str | None = None) -> Figure:
    """Bar charts of the per-dimension KL of several models, each sorted high to low.

    A model that uses few latent dimensions shows a few tall bars and a flat tail at 0.

    Args:
        per_dim: ``{model name: (latent_dim,) KL per dimension}``.
    """
    import matplotlib.pyplot as plt

    if not per_dim:
        raise ValueError("plot_kl_per_dimension: nothing to plot")
    fig, axes = plt.subplots(1, len(per_dim), figsize=(4.2 * len(per_dim), 3), squeeze=False)
    for ax, (name, kl) in zip(axes[0], per_dim.items(), strict=True):
        kl = np.sort(np.asarray(kl, dtype=np.float64))[::-1]
        ax.bar(np.arange(len(kl)), kl, color="tab:blue")
        ax.set_title(f"{name}: {math.fsum(kl):.1f} nats in all")
        ax.set_xlabel("latent dimension (sorted)")
        ax.set_ylabel("KL per dimension (nats)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
