"""The numbers in the CIFAR-10 and MMD notebooks' tables.

* :func:`bits_per_dim`: a negative log-likelihood (or negative ELBO) in nats per image,
  as bits per dimension of 8-bit data (the unit of the generative-modelling literature);
* :func:`dequantize`: uniformly dequantized test images, so that a continuous density's
  bits per dimension bound those of the discrete 8-bit data;
* :func:`gaussian_likelihood` and :func:`likelihood_from_loss`: the per-image log p(x|z)
  that :func:`evaluate_vae` needs, from a fixed-variance Gaussian or from a notebook's own
  loss;
* :func:`active_units`: how many latent units a model uses (Burda et al., 2016);
* :func:`mmd_to_prior`: the MMD between the aggregate posterior q(z) and the prior,
  estimated in blocks so that its memory does not grow with the number of codes;
* :func:`evaluate_vae`: all of them for one model on one set of images, in one pass, as a
  dict, and :func:`format_table` / :func:`plot_kl_per_dimension` to compare models.

``bits_per_dim``, ``active_units`` and the MMD are functions that students write
(``# BEGIN FILL-IN`` bodies, absent from the students' copy of the package), and the
Gaussian likelihood answers part of the CIFAR-10 notebook's loss (a ``# BEGIN ANSWER``
block, absent while that notebook is open). Code here that needs them takes them as
arguments (``evaluate_vae(..., bits_per_dim=...)``): a notebook passes the student's own
function, a later notebook the package's, by name.

NumPy in, NumPy (or Python floats) out, except where a Keras model is evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf
from keras import ops
from matplotlib.figure import Figure

from .losses import Likelihood, gaussian_log_likelihood, reconstruction_log_likelihood


def bits_per_dim(nll_nats, image_shape: Sequence[int], levels: int = 256):
    """Convert a negative log-likelihood in nats per image to bits per dimension.

    The model is a density over pixel values scaled to [0, 1]; the result is in bits per
    dimension of the original data with ``levels`` intensity values (the ``cifar10_vae``
    notebook derives the conversion).

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

    Its body would answer part of the ``cifar10_vae`` notebook's loss, so it is absent from
    the students' build until that notebook is past due (the CIFAR-10 notebook itself uses
    :func:`likelihood_from_loss` on the student's loss instead).

    Returns:
        ``f(x, logits) -> (batch,)`` log p(x|z) per image, for the ``likelihood=``
        argument of :func:`~vaecourse.tf.losses.compute_loss` and friends.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    logvar = 2.0 * math.log(sigma)

    def log_likelihood(x, logits):
        # BEGIN ANSWER cifar10_vae/gaussian_vae_loss mnist_vae/log_normal_pdf
        return gaussian_log_likelihood(x, ops.sigmoid(logits), logvar)
        # END ANSWER cifar10_vae/gaussian_vae_loss

    log_likelihood.__name__ = f"gaussian_sigma_{sigma:g}"
    return log_likelihood


class _PriorProbe:
    """A stand-in VAE for :func:`likelihood_from_loss`: its posterior is the prior N(0, 1) (mean 0,
    log-variance 0, so the KL term is 0 in closed form and as a single-sample estimate) and its
    decoder returns the logits it is given, whatever the code."""

    latent_dim = 1

    def __init__(self, logits) -> None:
        self.logits = logits

    def encode(self, x):
        zeros = ops.zeros((ops.shape(x)[0], 1), "float32")
        return zeros, zeros

    def reparameterize(self, mean, logvar):
        return mean

    def decode(self, z, apply_sigmoid: bool = False):
        return ops.sigmoid(self.logits) if apply_sigmoid else self.logits


def likelihood_from_loss(loss_fn: Callable, **loss_kwargs) -> Callable:
    """The per-image log p(x|z) of a VAE loss, as ``f(x, logits) -> (batch,)``.

    ``loss_fn(model, x, **loss_kwargs)`` is a negative ELBO averaged over the batch, such as a
    notebook's own loss with its likelihood (``likelihood_from_loss(gaussian_vae_loss,
    sigma=0.1)``). Each image is passed to it alone with a stand-in model whose posterior is the
    prior (so its KL term is zero, in closed form and as a single-sample estimate) and whose
    decoder returns that image's logits: what is left of the loss is ``-log p(x|z)``. The result is
    the ``likelihood=`` argument of :func:`evaluate_vae` and of the ELBO losses, so that a
    notebook evaluates with the likelihood of its student's loss.

    The loss runs compiled (``tf.function``; with ``reduce_retracing``, a new batch size traces
    once more at most), as in training, also under ``VAECOURSE_EAGER=1``: run eagerly, the loop over
    the images took about ten times the CPU of the one trace (160 images, 2 cores).

    Raises:
        TypeError: if ``loss_fn`` is not callable.
    """
    if not callable(loss_fn):
        raise TypeError(f"likelihood_from_loss needs a loss function loss_fn(model, x), not {loss_fn!r}")

    def per_image(x, logits):
        def one(pair):
            image, image_logits = pair
            loss = loss_fn(_PriorProbe(image_logits[None]), image[None], **loss_kwargs)
            return -ops.reshape(ops.cast(loss, "float32"), ())

        return tf.map_fn(one, (x, logits), fn_output_signature=tf.float32)

    compiled = tf.function(per_image, reduce_retracing=True)

    def log_likelihood(x, logits):
        x = ops.cast(ops.convert_to_tensor(x), "float32")
        logits = ops.cast(ops.convert_to_tensor(logits), "float32")
        return compiled(x, logits)

    log_likelihood.__name__ = f"likelihood_of_{getattr(loss_fn, '__name__', 'loss')}"
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


def active_units(mean, threshold: float = 0.01) -> int:
    """The number of active latent units (Burda et al., 2016), as an int.

    The ``mmd_vae`` notebook defines when a unit is active and has students write this.

    Args:
        mean: (N, latent_dim) posterior means of N inputs.
        threshold: the activity threshold (0.01 in the paper).
    """
    # BEGIN FILL-IN active_units
    means = np.asarray(mean, dtype=np.float64)
    variance = means.var(axis=0)
    return int((variance > threshold).sum())
    # END FILL-IN active_units


def mmd_to_prior(z, mmd: Callable, block_size: int = 512, seed: int = 0) -> float:
    """Unbiased estimate of MMD^2 between the codes ``z`` (N, dim) and the prior N(0, I).

    The codes are shuffled (seeded) and split into blocks of at most ``block_size``; each
    block is compared with as many fresh samples of the prior by ``mmd(block, prior)``,
    and the block estimates are averaged. Every block estimate is unbiased, so the average
    is too; its memory is that of one block (the kernel matrices are block_size x
    block_size, whatever N), where one call on all N codes would need N x N matrices (and
    an (N, N, dim) difference tensor: 12.8 GB for 10,000 codes of size 32). Near 0 (it can
    be slightly negative) when the aggregate posterior q(z) matches the prior.

    Args:
        z: (N >= 2, dim) codes, e.g. one sampled z per test image.
        mmd: ``mmd(x, y) -> scalar``, an unbiased MMD^2 estimator with its kernel (the
            ``mmd_vae`` notebook passes the student's ``mmd``; elsewhere pass
            :func:`vaecourse.tf.mmd.mmd` explicitly).
        block_size: the most codes per block (>= 2); blocks have equal sizes +- 1.
        seed: seeds the shuffle and the prior samples.
    """
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or len(z) < 2:
        raise ValueError(f"z must be (N >= 2, dim), got shape {z.shape}")
    if not callable(mmd):
        raise TypeError(f"mmd must be a function mmd(x, y) -> MMD^2, not {mmd!r}")
    if block_size < 2:
        raise ValueError(f"block_size must be >= 2, got {block_size}")
    rng = np.random.default_rng(seed)
    n_blocks = math.ceil(len(z) / block_size)
    total = 0.0
    for block in np.array_split(z[rng.permutation(len(z))], n_blocks):
        prior = rng.standard_normal(block.shape).astype(np.float32)
        total += float(mmd(block, prior))
    return total / n_blocks


#: The columns of :func:`evaluate_vae`, in table order, with their meaning. ``bits/dim``,
#: ``MMD`` and ``active`` are there only when their function is passed.
COLUMNS: dict[str, str] = {
    "ELBO": "test ELBO, nats per image (higher is better)",
    "bits/dim": "negative ELBO in bits per dimension of 8-bit data (lower is better)",
    "-log p(x|z)": "reconstruction term, nats per image",
    "KL": "KL(q(z|x) || p(z)) averaged over images, nats",
    "MSE": "mean squared error per pixel of the reconstruction from the posterior mean",
    "MMD": "unbiased MMD^2 between sampled codes and prior samples, in blocks (mmd_to_prior)",
    "active": "active latent units (Burda et al., 2016), threshold 0.01",
}


def evaluate_vae(
    model,
    images: np.ndarray,
    likelihood: Likelihood = "bernoulli",
    *,
    bits_per_dim: Callable | None = None,
    active_units: Callable | None = None,
    mmd: Callable | None = None,
    batch_size: int = 256,
    mmd_block_size: int = 512,
    seed: int = 0,
) -> dict:
    """The columns of :data:`COLUMNS` for ``model`` on ``images`` (float32 NHWC in [0, 1]).

    One pass over the images in batches: each batch is encoded once, one z per image is
    drawn (``model.reparameterize``), decoded for log p(x|z), and the posterior mean is
    decoded for the squared error. The ELBO uses the analytic KL. Memory grows linearly
    with the number of images (the MMD is estimated in blocks, :func:`mmd_to_prior`).

    Args:
        likelihood: as in :func:`vaecourse.tf.losses.compute_loss`.
        bits_per_dim: ``bits_per_dim(nll_nats, image_shape)``; given, adds ``"bits/dim"``
            (8-bit data assumed: evaluate on :func:`dequantize`-d images when the
            likelihood is a continuous density).
        active_units: ``active_units(means) -> int``; given, adds ``"active"``.
        mmd: ``mmd(x, y) -> MMD^2``; given, adds ``"MMD"`` (see :func:`mmd_to_prior`).
        batch_size: images per batch; mmd_block_size: codes per MMD block.
        seed: seeds the MMD's prior samples.

    Returns:
        ``{column: value}`` plus the arrays ``"kl_per_dim"`` (latent_dim,), and, one row
        per image, ``"mean"``, ``"logvar"`` and the sampled codes ``"z"`` (N, latent_dim).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or len(images) < 2:
        raise ValueError(f"images must be (N >= 2, H, W, C), got shape {images.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    # BEGIN ANSWER mnist_vae/get_allClass_encodings mnist_vae/kl_reconstruction_loss
    log_px_z, sq_err, means, logvars, codes = [], [], [], [], []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        mean, logvar = model.encode(x)
        z = model.reparameterize(mean, logvar)
        log_px_z.append(np.asarray(reconstruction_log_likelihood(x, model.decode(z), likelihood), np.float64))
        recon = np.asarray(model.decode(mean, apply_sigmoid=True), np.float64)
        sq_err.append(((recon - x) ** 2).reshape(len(x), -1).mean(axis=1))
        means.append(np.asarray(mean, np.float64))
        logvars.append(np.asarray(logvar, np.float64))
        codes.append(np.asarray(z, np.float32))
    mean_all, logvar_all, z_all = np.concatenate(means), np.concatenate(logvars), np.concatenate(codes)
    kl_dims = 0.5 * (np.exp(logvar_all) + mean_all**2 - 1.0 - logvar_all)  # KL to N(0, 1), per dimension
    log_px_z_all, kl_all = np.concatenate(log_px_z), kl_dims.sum(axis=1)
    # END ANSWER mnist_vae/get_allClass_encodings
    elbo = float((log_px_z_all - kl_all).mean())
    result: dict = {"ELBO": elbo}
    if bits_per_dim is not None:
        result["bits/dim"] = _given(bits_per_dim, float, -elbo, images.shape[1:])
    result["-log p(x|z)"] = float(-log_px_z_all.mean())
    result["KL"] = float(kl_all.mean())
    result["MSE"] = float(np.concatenate(sq_err).mean())
    if mmd is not None:
        result["MMD"] = _given(
            lambda z: mmd_to_prior(z, mmd, block_size=mmd_block_size, seed=seed), float, z_all,
            name=getattr(mmd, "__name__", "mmd"))
    if active_units is not None:
        result["active"] = _given(active_units, int, mean_all)
    result["kl_per_dim"] = kl_dims.mean(axis=0)
    result.update(mean=mean_all.astype(np.float32), logvar=logvar_all.astype(np.float32), z=z_all)
    return result


def _given(fn: Callable, convert: Callable, *args, name: str | None = None):
    """``convert(fn(*args))``; NaN, with a message, when the function given fails.

    The functions come from students: a wrong one must cost its own column, not the
    evaluation and the figures that follow it.
    """
    try:
        return convert(fn(*args))
    except Exception as error:  # noqa: BLE001 (any error of the given function)
        print(f"evaluate_vae: {name or getattr(fn, '__name__', 'the function')} failed "
              f"({type(error).__name__}: {error}); its column shows nan.")
        return float("nan")


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
    fig, axes = plt.subplots(1, len(per_dim), figsize=(4.2 * len(per_dim), 3), squeeze=False,
                             layout="tight")
    for ax, (name, kl) in zip(axes[0], per_dim.items(), strict=True):
        kl = np.sort(np.asarray(kl, dtype=np.float64))[::-1]
        ax.bar(np.arange(len(kl)), kl, color="tab:blue")
        ax.set_title(f"{name}: {math.fsum(kl):.1f} nats in all")
        ax.set_xlabel("latent dimension (sorted)")
        ax.set_ylabel("KL per dimension (nats)")
    if title:
        fig.suptitle(title)
    return fig
