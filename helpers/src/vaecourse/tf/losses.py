"""Gaussian log-densities, KL divergences, likelihoods and the VAE losses (Keras 3 ops).

Notation: an encoder gives q(z|x) = N(mean, exp(logvar)) per example; the prior is
p(z) = N(0, I); the decoder gives logits of p(x|z). The evidence lower bound is

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)) <= log p(x).

Two estimators of the negative ELBO are the MNIST notebook's fill-ins: :func:`compute_loss`
(TensorFlow's CVAE tutorial: Monte Carlo, one sample per example) and
:func:`kl_reconstruction_loss` (the KL term in closed form).
:func:`kl_to_standard_normal`, :func:`kl_gaussians` and :func:`gaussian_log_likelihood` would
answer graded cells (the theory notebook's KL functions, the MNIST notebook's log-density), so
their bodies are ``# BEGIN ANSWER`` blocks: absent from the students' build while those
assignments are open.

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
    """KL(N(mean, exp(logvar)) || N(0, I)) per example, summed over the last axis.

    Zero exactly at the prior (mean 0, logvar 0) and non-negative everywhere.
    """
    mean, logvar = to_float32(mean), to_float32(logvar)
    # BEGIN ANSWER kl_theory/kl_to_standard_normal mnist_vae/kl_reconstruction_loss
    return -0.5 * ops.sum(1.0 + logvar - ops.square(mean) - ops.exp(logvar), axis=-1)
    # END ANSWER kl_theory/kl_to_standard_normal


def kl_gaussians(mu1, logvar1, mu2, logvar2):
    """Elementwise KL(N(mu1, exp(logvar1)) || N(mu2, exp(logvar2))); sum the last axis yourself
    for a diagonal Gaussian."""
    mu1, logvar1, mu2, logvar2 = (to_float32(t) for t in (mu1, logvar1, mu2, logvar2))
    # BEGIN ANSWER kl_theory/kl_gaussians_logvar
    return 0.5 * (
        logvar2 - logvar1 + (ops.exp(logvar1) + ops.square(mu1 - mu2)) * ops.exp(-logvar2) - 1.0
    )
    # END ANSWER kl_theory/kl_gaussians_logvar


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
    # BEGIN ANSWER mnist_vae/log_normal_pdf
    log_density = -0.5 * ((x - mean) ** 2.0 * ops.exp(-logvar) + logvar + LOG_2PI)
    return ops.sum(log_density, axis=_pixel_axes(x))
    # END ANSWER mnist_vae/log_normal_pdf


def reconstruction_log_likelihood(x, logits, likelihood: Likelihood = "bernoulli"):
    """log p(x|z) per example from decoder logits.

    Args:
        likelihood: ``"bernoulli"`` (logits of pixel probabilities) or a callable
            ``f(x, logits) -> (batch,)`` for anything else (a Gaussian:
            :func:`vaecourse.tf.metrics.gaussian_likelihood`).
    """
    if callable(likelihood):
        return to_float32(likelihood(x, logits))
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(x, logits)
    raise ValueError(
        f"likelihood={likelihood!r}: use 'bernoulli' or a function f(x, logits) -> (batch,) "
        "(e.g. vaecourse.tf.metrics.gaussian_likelihood(0.1))."
    )


def compute_loss(model: keras.Model, x, likelihood: Likelihood = "bernoulli"):
    """The negative ELBO of ``x``, averaged over the batch: TensorFlow's CVAE tutorial's estimate.

    A Monte Carlo estimate of the whole ELBO (its KL term included) from one sample z of
    q(z|x) per example; ``model`` has the interface of :class:`vaecourse.tf.models.CVAE`.
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
    """The negative ELBO of ``x``, averaged over the batch, with its KL term in closed form.

    The reconstruction term is estimated from one sample z of q(z|x) per example, as in
    :func:`compute_loss`.
    """
    # BEGIN FILL-IN kl_reconstruction_loss
    mean, logvar = model.encode(x)
    z = model.reparameterize(mean, logvar)
    x_logit = model.decode(z)
    reconstruction = -reconstruction_log_likelihood(x, x_logit, likelihood)
    mean, logvar = to_float32(mean), to_float32(logvar)
    kl = -0.5 * ops.sum(1.0 + logvar - ops.square(mean) - ops.exp(logvar), axis=-1)
    return ops.mean(reconstruction + kl)
    # END FILL-IN kl_reconstruction_loss
