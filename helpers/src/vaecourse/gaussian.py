"""Gaussians in NumPy: the KL divergence and the small experiments of the theory notebook.

The divergence of one univariate Gaussian from another, in the two forms a VAE uses (with
standard deviations, with log-variances) and against the prior N(0, I) summed over the
dimensions of a diagonal Gaussian, are what the ``kl_theory`` notebook derives and students
write (fill-ins: the closed form is theirs to find, so it is not spelled out here).

The rest serves the notebook's experiments: two unbiased estimators of the gradient
d/dtheta E_{z ~ N(mu, sigma^2)}[f(z)] (the score-function/REINFORCE estimator and the
reparameterization estimator) and their variances, Jensen's gap, the KL of each latent
dimension (:func:`kl_per_dimension`, which takes the elementwise KL function as an argument,
so that it never calls a fill-in), and the linear VAE whose optimum is known in closed form
(probabilistic PCA: :func:`pca`, :func:`ppca_noise_variance`, :func:`linear_vae_decoder`,
:func:`linear_vae_encoder`, :func:`linear_vae_kl_per_dimension`). Everything is NumPy; no
framework is imported.

Functions whose bodies students write in the notebook are marked
``# BEGIN FILL-IN <name>`` / ``# END FILL-IN <name>``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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

    Uses ``grad E_q[f(z)] = E_q[(f(z) - b) * grad log q(z)]``, averaged over the samples
    ``z`` of q that ``eps`` stands for (``(z - mu) / sigma = eps``), where ``grad log q`` is
    ``eps / sigma`` for mu and ``(eps^2 - 1) / sigma`` for sigma. Any constant baseline
    ``b`` leaves the estimate unbiased (E_q[grad log q] = 0).

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

    The samples ``z`` of q are a function of (mu, sigma) and of the parameter-free noise
    ``eps ~ N(0, 1)``; the estimate averages ``d f(z)/dmu = f'(z)`` and
    ``d f(z)/dsigma = f'(z) * eps`` over them.

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
    variance) and <= 0 for a concave one (e.g. ``log``: the ELBO's E[log w] <= log E[w]).
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


# --- the linear VAE: probabilistic PCA -------------------------------------------------
#
# p(z) = N(0, I_k), p(x | z) = N(W z + m, s^2 I_D), q(z | x) a diagonal Gaussian. The
# marginal is p(x) = N(m, W W^T + s^2 I), whose maximum-likelihood W is built from the data's
# principal components (Tipping & Bishop 1999); with an encoder of diagonal Gaussians the
# ELBO's optimum is that same W with orthogonal columns (Lucas, Tucker, Grosse & Norouzi
# 2019, "Don't Blame the ELBO! A Linear VAE Perspective on Posterior Collapse").


@dataclass(frozen=True)
class PCA:
    """The principal components of a data set of row vectors.

    Attributes:
        mean: shape ``(D,)``, the data's mean.
        eigenvalues: shape ``(D,)``, in decreasing order, >= 0: the eigenvalues of the data's
            covariance (``1/N`` normalization), i.e. the data's variance along each component.
        components: shape ``(D, D)``, orthonormal; column ``j`` is the unit eigenvector of
            ``eigenvalues[j]`` (its sign fixed so that its entry of largest magnitude is
            positive, which makes the result reproducible).
    """

    mean: np.ndarray
    eigenvalues: np.ndarray
    components: np.ndarray


def pca(x: ArrayLike, chunk: int = 8192) -> PCA:
    """The principal components of ``x``, shape ``(N, D)`` (e.g. flattened images in [0, 1]).

    The covariance ``(x - mean)^T (x - mean) / N`` is accumulated over blocks of ``chunk``
    rows in float64 (so that all of MNIST needs a few MB beyond its own array), then
    diagonalized with :func:`numpy.linalg.eigh`.
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x should have shape (N, D) with N >= 2, not {x.shape}")
    if chunk < 1:
        raise ValueError(f"chunk should be a positive number of rows, not {chunk}")
    n, d = x.shape
    mean = np.zeros(d)
    for start in range(0, n, chunk):
        mean += x[start:start + chunk].astype(np.float64).sum(axis=0)
    mean /= n
    covariance = np.zeros((d, d))
    for start in range(0, n, chunk):
        block = x[start:start + chunk].astype(np.float64) - mean
        covariance += block.T @ block
    covariance /= n
    eigenvalues, components = np.linalg.eigh(covariance)
    eigenvalues, components = np.clip(eigenvalues[::-1], 0.0, None), components[:, ::-1]
    largest = components[np.argmax(np.abs(components), axis=0), np.arange(d)]
    components = components * np.where(largest < 0, -1.0, 1.0)
    return PCA(mean=mean, eigenvalues=eigenvalues, components=components)


def _check_latent_dim(eigenvalues: np.ndarray, latent_dim: int) -> None:
    if not 1 <= latent_dim <= eigenvalues.size:
        raise ValueError(f"latent_dim should be between 1 and {eigenvalues.size}, not {latent_dim}")


def _check_noise_var(noise_var: float) -> float:
    noise_var = float(noise_var)
    if not noise_var > 0:
        raise ValueError(f"noise_var is the decoder's variance s^2 and must be > 0, not {noise_var}")
    return noise_var


def ppca_noise_variance(eigenvalues: ArrayLike, latent_dim: int) -> float:
    """The maximum-likelihood noise variance ``s^2`` of probabilistic PCA with ``latent_dim``
    components: the mean of the discarded eigenvalues ``eigenvalues[latent_dim:]`` (Tipping &
    Bishop 1999, eq. 8), the variance per direction that the ``latent_dim`` components leave
    unexplained. Needs ``latent_dim < D``.
    """
    values = np.asarray(eigenvalues, dtype=float)
    _check_latent_dim(values, latent_dim)
    if latent_dim == values.size:
        raise ValueError("with latent_dim = D no eigenvalue is discarded: the ML noise variance is 0")
    return float(values[latent_dim:].mean())


def linear_vae_decoder(fit: PCA, latent_dim: int, noise_var: float) -> np.ndarray:
    """The decoder weights ``W``, shape ``(D, latent_dim)``, of the linear VAE's optimum.

    ``W = U_k (Lambda_k - s^2 I)^(1/2)``: column ``j`` is the ``j``-th principal component
    scaled by ``sqrt(lambda_j - s^2)``, and zero where ``lambda_j <= s^2`` (``U_k``,
    ``Lambda_k``: the first ``latent_dim`` components and eigenvalues; ``s^2 = noise_var``).
    With the decoder mean ``fit.mean`` it maximizes the likelihood of
    ``p(x) = N(mean, W W^T + s^2 I)`` on the data ``fit`` was computed from, and its
    orthogonal columns make the encoder of :func:`linear_vae_encoder` the exact posterior.
    """
    noise_var = _check_noise_var(noise_var)
    _check_latent_dim(fit.eigenvalues, latent_dim)
    scale = np.sqrt(np.clip(fit.eigenvalues[:latent_dim] - noise_var, 0.0, None))
    return fit.components[:, :latent_dim] * scale


def linear_vae_encoder(
    x: ArrayLike, weights: ArrayLike, mean: ArrayLike, noise_var: float
) -> tuple[np.ndarray, np.ndarray]:
    """The best diagonal Gaussian encoder ``q(z | x)`` for a linear Gaussian decoder.

    For ``p(z) = N(0, I)`` and ``p(x | z) = N(W z + mean, s^2 I)`` the posterior is Gaussian
    with mean ``M^-1 W^T (x - mean)`` and covariance ``s^2 M^-1``, ``M = W^T W + s^2 I``. The
    diagonal Gaussian of highest ELBO has that mean and the variances ``s^2 / M_jj`` (the
    inverses of the diagonal of the posterior's precision ``M / s^2``); when ``W``'s columns
    are orthogonal, ``M`` is diagonal and this is the posterior itself.

    Args:
        x: shape ``(N, D)``, the data.
        weights: ``W``, shape ``(D, k)``.
        mean: shape ``(D,)``, the decoder's offset.
        noise_var: the decoder's variance ``s^2`` (> 0).

    Returns:
        ``(mu, logvar)``, each of shape ``(N, k)`` (the variances do not depend on ``x``).
    """
    noise_var = _check_noise_var(noise_var)
    x, w, mean = np.asarray(x, dtype=float), np.asarray(weights, dtype=float), np.asarray(mean, dtype=float)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0] or mean.shape != (w.shape[0],):
        raise ValueError(f"expected x (N, D), weights (D, k), mean (D,); got {x.shape}, {w.shape}, {mean.shape}")
    m = w.T @ w + noise_var * np.eye(w.shape[1])
    mu = np.linalg.solve(m, w.T @ (x - mean).T).T
    logvar = np.log(noise_var) - np.log(np.diag(m))
    return mu, np.broadcast_to(logvar, mu.shape).copy()


def linear_vae_kl_per_dimension(eigenvalues: ArrayLike, latent_dim: int, noise_var: float) -> np.ndarray:
    """The average KL to N(0, 1) of each latent dimension at the linear VAE's optimum, in closed form.

    ``0.5 * log(lambda_j / s^2)`` where ``lambda_j > s^2`` and 0 elsewhere, for the first
    ``latent_dim`` eigenvalues: the mean over the data the eigenvalues come from of the KL of
    the encoder of :func:`linear_vae_encoder` with the decoder of :func:`linear_vae_decoder`.
    (On other data from the same distribution it holds on average.) Shape ``(latent_dim,)``.
    """
    noise_var = _check_noise_var(noise_var)
    values = np.asarray(eigenvalues, dtype=float)
    _check_latent_dim(values, latent_dim)
    return 0.5 * np.log(np.maximum(values[:latent_dim], noise_var) / noise_var)
