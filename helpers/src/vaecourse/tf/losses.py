"""Gaussian log-densities, KL divergences, likelihoods and the VAE losses (Keras 3 ops).

Notation: an encoder gives q(z|x) = N(mean, exp(logvar)) per example; the prior is
p(z) = N(0, I); the decoder gives logits of p(x|z). The evidence lower bound is

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)) <= log p(x).

Two estimators of the negative ELBO are implemented:

* :func:`compute_loss`, TensorFlow's CVAE tutorial: one Monte Carlo sample of
  log p(x|z) + log p(z) - log q(z|x);
* :func:`kl_reconstruction_loss`: the same, with the KL term computed analytically
  (lower variance, the same expectation).

All functions return float32 tensors; per-example quantities have shape (batch,).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
from keras import ops

LOG_2PI = math.log(2.0 * math.pi)

Likelihood = str | Callable  # "bernoulli", "gaussian" or f(x, logits) -> (batch,)


def to_float32(x):
    """``x`` (a number, a NumPy array or a tensor) as a float32 tensor."""
    return ops.cast(ops.convert_to_tensor(x), "float32")


def _pixel_axes(x) -> list[int]:
    return list(range(1, len(x.shape)))


def log_normal_pdf(sample, mean, logvar, raxis: int = 1):
    """log N(sample; mean, exp(logvar)) of a diagonal Gaussian, summed over ``raxis``.

    ``-0.5 * sum((sample - mean)**2 * exp(-logvar) + logvar + log(2*pi))``.
    ``mean`` and ``logvar`` broadcast against ``sample`` (``0.0`` gives the prior).
    """
    # BEGIN FILL-IN log_normal_pdf
    sample, mean, logvar = to_float32(sample), to_float32(mean), to_float32(logvar)
    return ops.sum(
        -0.5 * ((sample - mean) ** 2.0 * ops.exp(-logvar) + logvar + LOG_2PI),
        axis=raxis,
    )
    # END FILL-IN log_normal_pdf


def kl_to_standard_normal(mean, logvar):
    """KL(N(mean, exp(logvar)) || N(0, I)) per example.

    ``-0.5 * sum(1 + logvar - mean**2 - exp(logvar), axis=-1)``: zero exactly at the
    prior (mean 0, logvar 0) and non-negative everywhere.
    """
    mean, logvar = to_float32(mean), to_float32(logvar)
    return -0.5 * ops.sum(1.0 + logvar - ops.square(mean) - ops.exp(logvar), axis=-1)


def kl_gaussians(mu1, logvar1, mu2, logvar2):
    """Elementwise KL(N(mu1, s1^2) || N(mu2, s2^2)) with s^2 = exp(logvar).

    ``0.5 * (logvar2 - logvar1 + (s1^2 + (mu1 - mu2)^2) / s2^2 - 1)``; sum the last
    axis yourself for a diagonal Gaussian.
    """
    mu1, logvar1, mu2, logvar2 = (to_float32(t) for t in (mu1, logvar1, mu2, logvar2))
    return 0.5 * (
        logvar2 - logvar1 + (ops.exp(logvar1) + ops.square(mu1 - mu2)) * ops.exp(-logvar2) - 1.0
    )


def bernoulli_log_likelihood(x, logits):
    """log p(x|z) of independent Bernoulli pixels with the given logits, per example.

    The sum over all pixel axes of ``-sigmoid_cross_entropy(labels=x, logits=logits)``,
    computed stably as ``-(max(l, 0) - l*x + log(1 + exp(-|l|)))``.
    """
    x, logits = to_float32(x), to_float32(logits)
    cross_entropy = ops.relu(logits) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return -ops.sum(cross_entropy, axis=_pixel_axes(x))


def gaussian_log_likelihood(x, mean, logvar=0.0):
    """log N(x; mean, exp(logvar)) per example, summed over all pixel axes."""
    x, mean, logvar = to_float32(x), to_float32(mean), to_float32(logvar)
    log_density = -0.5 * ((x - mean) ** 2.0 * ops.exp(-logvar) + logvar + LOG_2PI)
    return ops.sum(log_density, axis=_pixel_axes(x))


def reconstruction_log_likelihood(x, logits, likelihood: Likelihood = "bernoulli"):
    """log p(x|z) per example from decoder logits.

    Args:
        likelihood: ``"bernoulli"`` (logits of pixel probabilities), ``"gaussian"``
            (mean ``sigmoid(logits)``, unit variance) or a callable
            ``f(x, logits) -> (batch,)`` for anything else.
    """
    if callable(likelihood):
        return to_float32(likelihood(x, logits))
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(x, logits)
    if likelihood == "gaussian":
        return gaussian_log_likelihood(x, ops.sigmoid(to_float32(logits)), 0.0)
    raise ValueError(
        f"likelihood={likelihood!r}: use 'bernoulli', 'gaussian' or a function f(x, logits)."
    )


def compute_loss(model: keras.Model, x, likelihood: Likelihood = "bernoulli"):
    """Single-sample Monte Carlo negative ELBO, averaged over the batch (the TF tutorial's).

    ``-mean(log p(x|z) + log p(z) - log q(z|x))`` with one z per example drawn by
    ``model.reparameterize`` from ``model.encode(x)``; ``model.decode(z)`` gives logits.
    """
    # BEGIN FILL-IN compute_loss
    mean, logvar = model.encode(x)
    z = model.reparameterize(mean, logvar)
    x_logit = model.decode(z)
    logpx_z = reconstruction_log_likelihood(x, x_logit, likelihood)
    logpz = log_normal_pdf(z, 0.0, 0.0)
    logqz_x = log_normal_pdf(z, mean, logvar)
    return -ops.mean(logpx_z + logpz - logqz_x)
    # END FILL-IN compute_loss


def kl_reconstruction_loss(model: keras.Model, x, likelihood: Likelihood = "bernoulli"):
    """Negative ELBO with the analytic KL, averaged over the batch.

    ``mean(-log p(x|z) + KL(q(z|x) || N(0, I)))`` with one reparameterized z per example.
    """
    # BEGIN FILL-IN kl_reconstruction_loss
    mean, logvar = model.encode(x)
    z = model.reparameterize(mean, logvar)
    x_logit = model.decode(z)
    reconstruction = -reconstruction_log_likelihood(x, x_logit, likelihood)
    return ops.mean(reconstruction + kl_to_standard_normal(mean, logvar))
    # END FILL-IN kl_reconstruction_loss


def elbo_terms(
    model: keras.Model, x, likelihood: Likelihood = "bernoulli", analytic_kl: bool = True
) -> dict:
    """Per-example terms of the ELBO, for tables and plots.

    Returns:
        ``{"log_px_z": (batch,), "kl": (batch,), "elbo": (batch,)}`` with
        ``elbo = log_px_z - kl``. With ``analytic_kl=False`` the KL is the
        single-sample estimate ``log q(z|x) - log p(z)`` (what :func:`compute_loss` uses).
    """
    mean, logvar = model.encode(x)
    mean, logvar = to_float32(mean), to_float32(logvar)
    z = model.reparameterize(mean, logvar)
    log_px_z = reconstruction_log_likelihood(x, model.decode(z), likelihood)
    if analytic_kl:
        kl = kl_to_standard_normal(mean, logvar)
    else:
        normal = -0.5 * (ops.square(z) + LOG_2PI)
        posterior = -0.5 * (ops.square(z - mean) * ops.exp(-logvar) + logvar + LOG_2PI)
        kl = ops.sum(posterior - normal, axis=-1)
    return {"log_px_z": log_px_z, "kl": kl, "elbo": log_px_z - kl}
