"""Gaussians in NumPy: the KL divergence and the small experiments of the theory notebook.

The divergence of one univariate Gaussian from another, in the two forms a VAE uses (with
standard deviations, with log-variances) and against the prior N(0, I) summed over the
dimensions of a diagonal Gaussian, are what the ``kl_theory`` notebook derives and students
write (fill-ins: the closed form is theirs to find, so it is not spelled out here).

The rest serves the notebook's experiments: two unbiased estimators of the gradient
d/dtheta E_{z ~ N(mu, sigma^2)}[f(z)] (the score-function/REINFORCE estimator and the
reparameterization estimator) and their variances, Jensen's gap, and the KL of each
latent dimension of a trained VAE (:func:`kl_per_dimension`, which takes the elementwise KL
function as an argument, so that it never calls a fill-in). Everything is NumPy; no
framework is imported.

Functions whose bodies students write in the notebook are marked
``# BEGIN FILL-IN <name>`` / ``# END FILL-IN <name>``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

ScalarFn = Callable[[np.ndarray], np.ndarray]
KLFn = Callable[[ArrayLike, ArrayLike, ArrayLike, ArrayLike], ArrayLike]


# --- the KL divergence -----------------------------------------------------------------


def kl_gaussians(
    mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike
) -> np.ndarray:
    """KL(N(mu1, sigma1^2) || N(mu2, sigma2^2)), elementwise.

    Args:
        mu1, sigma1: mean and standard deviation (> 0) of P.
        mu2, sigma2: mean and standard deviation (> 0) of Q.
            All four broadcast against each other (NumPy rules).

    Returns:
        The divergence in nats, with the broadcast shape of the inputs.
    """
    # BEGIN FILL-IN kl_gaussians
    mu1, sigma1, mu2, sigma2 = (np.asarray(a, dtype=float) for a in (mu1, sigma1, mu2, sigma2))
    return np.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5
    # END FILL-IN kl_gaussians


def kl_gaussians_logvar(
    mu1: ArrayLike, logvar1: ArrayLike, mu2: ArrayLike, logvar2: ArrayLike
) -> np.ndarray:
    """KL(N(mu1, exp(logvar1)) || N(mu2, exp(logvar2))), elementwise.

    The same divergence as :func:`kl_gaussians`, written with log-variances
    ``logvar = log sigma^2`` as a VAE's encoder outputs them (no square roots, no
    division by a standard deviation that could be 0).

    Returns:
        The divergence in nats, with the broadcast shape of the inputs.
    """
    # BEGIN FILL-IN kl_gaussians_logvar
    mu1, logvar1, mu2, logvar2 = (
        np.asarray(a, dtype=float) for a in (mu1, logvar1, mu2, logvar2)
    )
    return 0.5 * (
        logvar2 - logvar1 + (np.exp(logvar1) + (mu1 - mu2) ** 2) * np.exp(-logvar2) - 1.0
    )
    # END FILL-IN kl_gaussians_logvar


def kl_to_standard_normal(mu: ArrayLike, logvar: ArrayLike) -> np.ndarray:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per example: the VAE's latent loss.

    Args:
        mu, logvar: arrays of shape ``(batch, dim)``: the encoder's means and
            log-variances.

    Returns:
        Shape ``(batch,)``: the divergence of each example's diagonal Gaussian from the
        prior, summed over the dimensions.
    """
    # BEGIN FILL-IN kl_to_standard_normal
    mu, logvar = np.asarray(mu, dtype=float), np.asarray(logvar, dtype=float)
    return -0.5 * np.sum(1.0 + logvar - mu**2 - np.exp(logvar), axis=-1)
    # END FILL-IN kl_to_standard_normal


def kl_per_dimension(mu: ArrayLike, logvar: ArrayLike, kl_fn: KLFn) -> np.ndarray:
    """The average KL to N(0, 1) of each latent dimension over a batch of examples.

    Args:
        mu, logvar: shape ``(batch, dim)``, the encoder's outputs for a data set.
        kl_fn: the elementwise divergence ``kl_fn(mu1, logvar1, mu2, logvar2)`` of
            N(mu1, exp(logvar1)) from N(mu2, exp(logvar2)), called here with the prior
            ``(0, 0)``. The ``kl_theory`` notebook passes the student's own
            ``kl_gaussians_logvar``. (No default: the package's reference implementation
            is a fill-in that students write.)

    Returns:
        Shape ``(dim,)``, float64; it sums to the batch mean of the KL term of the ELBO.
        A dimension whose KL is near 0 is unused: q(z_j | x) is the prior for every x.
    """
    mu, logvar = _as_batch(mu, "mu"), _as_batch(logvar, "logvar")
    if mu.shape != logvar.shape:
        raise ValueError(f"mu has shape {mu.shape} but logvar has shape {logvar.shape}")
    if not callable(kl_fn):
        raise TypeError(f"kl_fn must be a function kl_fn(mu1, logvar1, mu2, logvar2), not {kl_fn!r}")
    kl = np.asarray(kl_fn(mu, logvar, 0.0, 0.0), dtype=np.float64)
    if kl.shape != mu.shape:
        raise ValueError(
            f"kl_fn(mu, logvar, 0.0, 0.0) should be elementwise, shape {mu.shape}; got {kl.shape}"
        )
    return kl.mean(axis=0)


def _as_batch(value: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"{name} should have shape (batch, dim), not {array.shape}")
    return array


# --- gradient estimators ---------------------------------------------------------------


def reinforce_gradient(
    f: ScalarFn,
    mu: float,
    sigma: float,
    eps: ArrayLike,
    baseline: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Score-function (REINFORCE) estimate of the gradient of E_{N(mu, sigma^2)}[f(z)].

    Uses ``grad E_q[f(z)] = E_q[(f(z) - b) * grad log q(z)]`` with the samples
    ``z = mu + sigma * eps``, where ``grad log q`` is ``eps / sigma`` for mu and
    ``(eps^2 - 1) / sigma`` for sigma. ``f`` is only evaluated, never differentiated.
    Any constant baseline ``b`` leaves the estimate unbiased (E_q[grad log q] = 0).

    Args:
        f: the function, applied elementwise to an array of samples.
        mu, sigma: the parameters of q.
        eps: standard normal draws, shape ``(..., n_samples)``; the estimate averages
            over the last axis.
        baseline: the control variate ``b`` subtracted from ``f(z)``.

    Returns:
        ``(d/dmu, d/dsigma)``, each of shape ``eps.shape[:-1]``.
    """
    eps = np.asarray(eps, dtype=float)
    weight = f(mu + sigma * eps) - baseline
    return (
        np.mean(weight * eps / sigma, axis=-1),
        np.mean(weight * (eps**2 - 1.0) / sigma, axis=-1),
    )


def reparameterization_gradient(
    df: ScalarFn, mu: float, sigma: float, eps: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Reparameterization estimate of the gradient of E_{N(mu, sigma^2)}[f(z)].

    Writes ``z = mu + sigma * eps`` with parameter-free noise ``eps ~ N(0, 1)`` and
    differentiates through it: ``d f(z)/dmu = f'(z)``, ``d f(z)/dsigma = f'(z) * eps``.

    Args:
        df: the derivative f' of f, applied elementwise.
        mu, sigma: the parameters of q.
        eps: standard normal draws, shape ``(..., n_samples)``; the estimate averages
            over the last axis.

    Returns:
        ``(d/dmu, d/dsigma)``, each of shape ``eps.shape[:-1]``.
    """
    eps = np.asarray(eps, dtype=float)
    slope = df(mu + sigma * eps)
    return np.mean(slope, axis=-1), np.mean(slope * eps, axis=-1)


def estimator_variances(
    f: ScalarFn,
    df: ScalarFn,
    mu: float,
    sigma: float,
    sample_sizes: Sequence[int],
    repeats: int = 1000,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Mean and variance over ``repeats`` runs of each estimator of d/dmu E_q[f(z)].

    For every number of samples ``n`` in ``sample_sizes``, each estimator is run
    ``repeats`` times on fresh noise (the same noise for all estimators, so that their
    comparison is paired). Estimators: ``reinforce``, ``reinforce_baseline`` (with the
    baseline ``f(mu)``) and ``reparameterization``.

    Returns:
        ``{"n": sizes, "<estimator>_mean": ..., "<estimator>_var": ...}``, arrays of
        length ``len(sample_sizes)``.
    """
    rng = np.random.default_rng(seed)
    sizes = np.asarray(sample_sizes, dtype=int)
    if sizes.ndim != 1 or sizes.size == 0 or (sizes < 1).any():
        raise ValueError(f"sample_sizes should be positive integers, not {sample_sizes!r}")
    if repeats < 2:
        raise ValueError(f"a variance needs repeats >= 2, not {repeats}")
    baseline = float(f(np.asarray(mu, dtype=float)))
    estimators: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "reinforce": lambda e: reinforce_gradient(f, mu, sigma, e)[0],
        "reinforce_baseline": lambda e: reinforce_gradient(f, mu, sigma, e, baseline)[0],
        "reparameterization": lambda e: reparameterization_gradient(df, mu, sigma, e)[0],
    }
    result: dict[str, list[float]] = {f"{k}_{s}": [] for k in estimators for s in ("mean", "var")}
    for n in sizes:
        eps = rng.standard_normal((repeats, int(n)))
        for name, estimate in estimators.items():
            values = estimate(eps)
            result[f"{name}_mean"].append(float(np.mean(values)))
            result[f"{name}_var"].append(float(np.var(values, ddof=1)))
    return {"n": sizes, **{k: np.asarray(v) for k, v in result.items()}}


# --- Jensen's inequality ---------------------------------------------------------------


def jensen_gap(f: ScalarFn, samples: ArrayLike, axis: int = 0) -> np.ndarray:
    """``mean(f(x)) - f(mean(x))`` over ``axis``: Jensen's gap of ``f`` on the samples.

    It is >= 0 for a convex ``f`` (e.g. ``x**2``, where it equals the biased sample
    variance), <= 0 for a concave one (e.g. ``log``: the ELBO's E[log w] <= log E[w]),
    and 0 for a linear one.
    """
    x = np.asarray(samples, dtype=float)
    return np.mean(f(x), axis=axis) - f(np.mean(x, axis=axis))


def log_mean_exp(log_w: ArrayLike, axis: int = -1) -> np.ndarray:
    """``log(mean(exp(log_w)))`` over ``axis``, computed stably.

    With ``log_w`` the log importance weights ``log p(x, z_k) - log q(z_k | x)`` of
    K samples, this is the K-sample (IWAE) bound on ``log p(x)``; K = 1 gives the ELBO.
    """
    log_w = np.asarray(log_w, dtype=float)
    top = np.max(log_w, axis=axis, keepdims=True)
    out = top + np.log(np.mean(np.exp(log_w - top), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis)


def importance_bound_gap(
    sigma: float, ks: Sequence[int], repeats: int = 2000, seed: int = 0
) -> np.ndarray:
    """Jensen's gap ``log E[w] - E[log mean_K w]`` for log-normal weights, per K.

    The weights are ``w = exp(s)`` with ``s ~ N(-sigma^2 / 2, sigma^2)``, so that
    ``E[w] = 1`` and ``log E[w] = 0`` exactly (a stand-in for ``p(x, z) / q(z | x)``
    with ``p(x) = 1``). The gap of the ELBO (K = 1) is ``sigma^2 / 2``; it shrinks
    as K grows. Monte Carlo over ``repeats`` draws of K weights.

    Returns:
        Array of the same length as ``ks``.
    """
    rng = np.random.default_rng(seed)
    gaps = []
    for k in ks:
        log_w = rng.normal(-0.5 * sigma**2, sigma, size=(repeats, int(k)))
        gaps.append(-float(np.mean(log_mean_exp(log_w, axis=-1))))
    return np.asarray(gaps)
