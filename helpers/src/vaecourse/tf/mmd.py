"""Maximum mean discrepancy (MMD) and the MMD-VAE (InfoVAE) loss.

The ``mmd_vae`` notebook defines the MMD, its two estimators and the loss, and has students
write :func:`gaussian_kernel`, :func:`mmd` and :func:`mmd_loss` (their bodies are absent from
the students' build until it is past due). Given to students: :func:`imq_kernel`, the inverse
multiquadric kernel ``scale / (scale + ||x - y||^2)``, default ``scale = 2 * dim`` (Tolstikhin
et al., Wasserstein auto-encoders), whose heavier tails still give a gradient to far-apart codes.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops

from .losses import Likelihood, reconstruction_log_likelihood

Kernel = str | Callable


def gaussian_kernel(x, y, bandwidth=None):
    """The Gaussian (RBF) kernel matrix of the ``mmd_vae`` notebook, shape (n, m).

    Args:
        x: (n, dim); y: (m, dim).
        bandwidth: the length scale; None: the notebook's default.
    """
    # BEGIN FILL-IN gaussian_kernel
    x = ops.cast(ops.convert_to_tensor(x), "float32")
    y = ops.cast(ops.convert_to_tensor(y), "float32")
    dim = ops.cast(ops.shape(x)[-1], "float32")
    bandwidth_sq = dim if bandwidth is None else ops.square(ops.cast(bandwidth, "float32"))
    diff = ops.expand_dims(x, 1) - ops.expand_dims(y, 0)
    return ops.exp(-ops.sum(ops.square(diff), axis=-1) / (2.0 * bandwidth_sq))
    # END FILL-IN gaussian_kernel


def imq_kernel(x, y, scale=None):
    """Inverse multiquadric kernel matrix ``scale / (scale + ||x_i - y_j||^2)``, shape (n, m).

    Heavier tails than the RBF kernel, so far-apart codes still get a gradient.
    ``scale`` None uses ``2 * dim``. Builds the (n, m, dim) differences (exact, no
    cancellation): fine for a training batch; for thousands of codes use
    :func:`vaecourse.tf.metrics.mmd_to_prior`, which works in blocks.
    """
    x = ops.cast(ops.convert_to_tensor(x), "float32")
    y = ops.cast(ops.convert_to_tensor(y), "float32")
    dim = ops.cast(ops.shape(x)[-1], "float32")
    c = 2.0 * dim if scale is None else ops.cast(scale, "float32")
    diff = ops.expand_dims(x, 1) - ops.expand_dims(y, 0)  # (n, m, dim)
    return c / (c + ops.sum(ops.square(diff), axis=-1))


_KERNELS: dict[str, Callable] = {"rbf": gaussian_kernel, "gaussian": gaussian_kernel,
                                 "imq": imq_kernel}


def _kernel_fn(kernel: Kernel) -> Callable:
    if callable(kernel):
        return kernel
    try:
        return _KERNELS[kernel]
    except KeyError:
        raise ValueError(
            f"kernel={kernel!r}: use 'rbf' (alias 'gaussian'), 'imq' or a function k(x, y)."
        ) from None


def mmd(x, y, kernel: Kernel = "rbf", unbiased: bool = True, **kernel_kwargs):
    """Estimate MMD^2 between the samples ``x`` (n, dim) and ``y`` (m, dim).

    Args:
        kernel: ``"rbf"``/``"gaussian"``, ``"imq"`` or a function ``k(x, y) -> (n, m)``.
        unbiased: the unbiased estimator of the ``mmd_vae`` notebook (needs n, m >= 2), or
            the biased one.
        **kernel_kwargs: passed to the kernel (``bandwidth=`` or ``scale=``).

    Returns:
        A float32 scalar.
    """
    k = _kernel_fn(kernel)
    # BEGIN FILL-IN mmd
    kxx = k(x, x, **kernel_kwargs)
    kyy = k(y, y, **kernel_kwargs)
    kxy = k(x, y, **kernel_kwargs)
    if unbiased:  # leave out the diagonal k(x_i, x_i) = 1 from the within-sample means
        n = ops.cast(ops.shape(kxx)[0], "float32")
        m = ops.cast(ops.shape(kyy)[0], "float32")
        xx = (ops.sum(kxx) - ops.trace(kxx)) / (n * (n - 1.0))
        yy = (ops.sum(kyy) - ops.trace(kyy)) / (m * (m - 1.0))
        return xx + yy - 2.0 * ops.mean(kxy)
    return ops.mean(kxx) + ops.mean(kyy) - 2.0 * ops.mean(kxy)
    # END FILL-IN mmd


def mmd_loss(
    model: keras.Model,
    x,
    lam: float = 1000.0,
    likelihood: Likelihood = "bernoulli",
    kernel: Kernel = "rbf",
    unbiased: bool = True,
    use_mean: bool = False,
    **kernel_kwargs,
):
    """The MMD-VAE loss of the ``mmd_vae`` notebook, averaged over the batch (a scalar).

    Args:
        lam: weight of the MMD term (1000, as in the notebook).
        likelihood: as in :func:`vaecourse.tf.losses.compute_loss`.
        use_mean: encode deterministically (z = mean) instead of reparameterizing.
        kernel, unbiased, kernel_kwargs: as in :func:`mmd`.
    """
    # BEGIN FILL-IN mmd_loss
    mean, logvar = model.encode(x)
    z = mean if use_mean else model.reparameterize(mean, logvar)
    reconstruction = -ops.mean(reconstruction_log_likelihood(x, model.decode(z), likelihood))
    prior = keras.random.normal(ops.shape(z), seed=getattr(model, "seed_generator", None))
    return reconstruction + lam * mmd(z, prior, kernel=kernel, unbiased=unbiased, **kernel_kwargs)
    # END FILL-IN mmd_loss
