"""Tests of vaecourse.gaussian by its mathematics: integration, Monte Carlo, known moments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from vaecourse import gaussian


def kl_by_quadrature(mu1: float, s1: float, mu2: float, s2: float) -> float:
    """KL(P || Q) = integral of p(x) (log p(x) - log q(x)) dx, numerically."""

    def integrand(t: float) -> float:  # x = mu1 + s1 * t, so p(x) dx = phi(t) dt
        x = mu1 + s1 * t
        return stats.norm.pdf(t) * (stats.norm.logpdf(x, mu1, s1) - stats.norm.logpdf(x, mu2, s2))

    # phi(t) < 1e-49 beyond |t| = 15; mark where q's density peaks as a breakpoint.
    peak = float(np.clip((mu2 - mu1) / s1, -14.0, 14.0))
    value, error = integrate.quad(integrand, -15.0, 15.0, points=[0.0, peak], limit=200)
    assert error < 1e-5  # quad's estimate; the values agree far closer
    return value


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def random_params(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    return (
        rng.normal(0, 2, shape),
        rng.uniform(0.2, 3.0, shape),
        rng.normal(0, 2, shape),
        rng.uniform(0.2, 3.0, shape),
    )


# --- kl_gaussians ----------------------------------------------------------------------


def test_kl_matches_numerical_integration(rng: np.random.Generator) -> None:
    for mu1, s1, mu2, s2 in zip(*random_params(rng, (12,)), strict=True):
        expected = kl_by_quadrature(mu1, s1, mu2, s2)
        assert gaussian.kl_gaussians(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-7, abs=1e-9)


def test_kl_matches_monte_carlo(rng: np.random.Generator) -> None:
    mu1, s1, mu2, s2 = 0.7, 1.3, -0.4, 0.8
    x = rng.normal(mu1, s1, 400_000)
    log_ratio = stats.norm.logpdf(x, mu1, s1) - stats.norm.logpdf(x, mu2, s2)
    standard_error = log_ratio.std() / np.sqrt(x.size)
    assert abs(gaussian.kl_gaussians(mu1, s1, mu2, s2) - log_ratio.mean()) < 5 * standard_error


def test_kl_known_values() -> None:
    # A shift by one standard deviation costs 1/2 nat; halving the width costs log 2 - 3/8.
    assert gaussian.kl_gaussians(1.0, 1.0, 0.0, 1.0) == pytest.approx(0.5)
    assert gaussian.kl_gaussians(0.0, 0.5, 0.0, 1.0) == pytest.approx(np.log(2) - 0.375)


def test_kl_zero_only_for_equal_distributions(rng: np.random.Generator) -> None:
    mu, s = rng.normal(0, 3, 100), rng.uniform(0.05, 5, 100)
    assert np.abs(gaussian.kl_gaussians(mu, s, mu, s)).max() < 1e-12
    mu1, s1, mu2, s2 = random_params(rng, (1000,))
    assert (gaussian.kl_gaussians(mu1, s1, mu2, s2) > 0).all()
    # Differing only in the mean, or only in the scale, is enough to be positive,
    # including where sigma1 > sigma2 (a formula using sigma as the variance goes negative).
    assert (gaussian.kl_gaussians(mu, s, mu + 0.1, s) > 0).all()
    ratios = np.linspace(0.1, 5.0, 50)
    assert (gaussian.kl_gaussians(0.0, ratios[ratios != 1.0], 0.0, 1.0) > 0).all()


def test_kl_is_not_symmetric() -> None:
    forward = gaussian.kl_gaussians(0.0, 1.0, 1.0, 2.0)
    backward = gaussian.kl_gaussians(1.0, 2.0, 0.0, 1.0)
    assert forward == pytest.approx(np.log(2) + 2 / 8 - 0.5)
    assert backward == pytest.approx(-np.log(2) + 5 / 2 - 0.5)
    assert backward > 2 * forward


def test_kl_is_vectorized_and_broadcasts(rng: np.random.Generator) -> None:
    mu1 = rng.normal(size=(4, 1, 3))
    s1 = rng.uniform(0.5, 2, size=(5, 1))
    out = gaussian.kl_gaussians(mu1, s1, 0.0, [1.0, 2.0, 3.0])
    assert out.shape == (4, 5, 3)
    b = np.broadcast_arrays(mu1, s1, 0.0, np.array([1.0, 2.0, 3.0]))
    expected = [gaussian.kl_gaussians(*args) for args in zip(*(a.ravel() for a in b), strict=True)]
    assert np.allclose(out.ravel(), expected)
    assert gaussian.kl_gaussians([0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]).tolist() == [0.0, 0.5]


# --- the log-variance forms ------------------------------------------------------------


def test_logvar_form_equals_sigma_form(rng: np.random.Generator) -> None:
    mu1, s1, mu2, s2 = random_params(rng, (7, 3))
    expected = gaussian.kl_gaussians(mu1, s1, mu2, s2)
    out = gaussian.kl_gaussians_logvar(mu1, np.log(s1**2), mu2, np.log(s2**2))
    assert out.shape == (7, 3)
    assert np.allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_logvar_form_matches_quadrature(rng: np.random.Generator) -> None:
    for mu1, s1, mu2, s2 in zip(*random_params(rng, (5,)), strict=True):
        value = gaussian.kl_gaussians_logvar(mu1, 2 * np.log(s1), mu2, 2 * np.log(s2))
        assert value == pytest.approx(kl_by_quadrature(mu1, s1, mu2, s2), rel=1e-7)


def test_kl_to_standard_normal_formula_and_shape(rng: np.random.Generator) -> None:
    mu, logvar = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    out = gaussian.kl_to_standard_normal(mu, logvar)
    assert out.shape == (6,)
    by_dimension = gaussian.kl_gaussians(mu, np.exp(0.5 * logvar), 0.0, 1.0)
    assert np.allclose(out, by_dimension.sum(axis=1), rtol=1e-12)
    assert gaussian.kl_to_standard_normal(np.zeros((3, 4)), np.zeros((3, 4))).tolist() == [0.0] * 3
    assert gaussian.kl_to_standard_normal([[1.0, 0.0]], [[0.0, 0.0]]).tolist() == [0.5]


def test_kl_to_standard_normal_matches_monte_carlo(rng: np.random.Generator) -> None:
    mu, logvar = np.array([[0.5, -1.0, 0.0]]), np.array([[-1.0, 0.3, 0.0]])
    std = np.exp(0.5 * logvar)
    z = mu + std * rng.standard_normal((200_000, 3))
    log_q = stats.norm.logpdf(z, mu, std).sum(axis=1)
    log_p = stats.norm.logpdf(z).sum(axis=1)
    ratio = log_q - log_p
    value = gaussian.kl_to_standard_normal(mu, logvar)[0]
    assert abs(value - ratio.mean()) < 5 * ratio.std() / np.sqrt(z.shape[0])


def test_kl_per_dimension(rng: np.random.Generator) -> None:
    mu, logvar = rng.normal(size=(50, 4)), rng.normal(size=(50, 4))
    mu[:, 2], logvar[:, 2] = 0.0, 0.0  # one dimension sits exactly at the prior
    per_dim = gaussian.kl_per_dimension(mu, logvar, gaussian.kl_gaussians_logvar)
    assert per_dim.shape == (4,)
    assert per_dim[2] == 0.0 and (np.delete(per_dim, 2) > 0).all()
    assert per_dim.sum() == pytest.approx(gaussian.kl_to_standard_normal(mu, logvar).mean())
    # the function it is given is what it computes with (and what it averages over the batch)
    calls = []

    def recording(mu1, logvar1, mu2, logvar2):
        calls.append((mu1.shape, mu2, logvar2))
        return np.ones_like(mu1) * np.arange(mu1.shape[1])

    np.testing.assert_allclose(gaussian.kl_per_dimension(mu, logvar, recording), [0, 1, 2, 3])
    assert calls == [((50, 4), 0.0, 0.0)]
    with pytest.raises(ValueError, match="shape"):
        gaussian.kl_per_dimension(mu, logvar[:, :3], gaussian.kl_gaussians_logvar)
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        gaussian.kl_per_dimension(mu[0], logvar[0], gaussian.kl_gaussians_logvar)
    with pytest.raises(ValueError, match="elementwise"):  # a per-example KL is not per dimension
        gaussian.kl_per_dimension(mu, logvar, lambda m, lv, m2, lv2: gaussian.kl_to_standard_normal(m, lv))
    with pytest.raises(TypeError, match="kl_fn"):
        gaussian.kl_per_dimension(mu, logvar, "kl")


def test_the_package_has_one_active_units_and_it_counts() -> None:
    # One name, one meaning: the count of vaecourse.tf.metrics (a fill-in of mmd_vae). The
    # NumPy module keeps no boolean twin of it, which would also hand out that answer.
    assert not hasattr(gaussian, "active_units")


# --- gradient estimators ---------------------------------------------------------------

MU, SIGMA = 0.8, 1.3
# f(z) = sin z: E[sin z] = sin(mu) exp(-sigma^2/2), so both gradients are known.
SIN_GRAD = (
    np.cos(MU) * np.exp(-(SIGMA**2) / 2),
    -SIGMA * np.sin(MU) * np.exp(-(SIGMA**2) / 2),
)


@pytest.mark.parametrize(
    "estimate",
    [
        lambda e: gaussian.reinforce_gradient(np.sin, MU, SIGMA, e),
        lambda e: gaussian.reinforce_gradient(np.sin, MU, SIGMA, e, baseline=0.7),
        lambda e: gaussian.reparameterization_gradient(np.cos, MU, SIGMA, e),
    ],
    ids=["reinforce", "reinforce_baseline", "reparameterization"],
)
def test_estimators_are_unbiased(estimate, rng: np.random.Generator) -> None:
    # 4000 independent estimates from 50 samples each: their mean is the true gradient.
    grad_mu, grad_sigma = estimate(rng.standard_normal((4000, 50)))
    assert grad_mu.shape == grad_sigma.shape == (4000,)
    for values, exact in ((grad_mu, SIN_GRAD[0]), (grad_sigma, SIN_GRAD[1])):
        assert abs(values.mean() - exact) < 5 * values.std() / np.sqrt(values.size)


def test_estimators_exact_for_quadratic(rng: np.random.Generator) -> None:
    # f(z) = z^2: E[f] = mu^2 + sigma^2, gradient (2 mu, 2 sigma).
    eps = rng.standard_normal(1_000_000)
    assert np.allclose(
        gaussian.reparameterization_gradient(lambda z: 2 * z, MU, SIGMA, eps),
        (2 * MU, 2 * SIGMA), atol=0.01,
    )
    assert np.allclose(
        gaussian.reinforce_gradient(np.square, MU, SIGMA, eps), (2 * MU, 2 * SIGMA), atol=0.05
    )


def test_estimator_variances_order_and_rate() -> None:
    # f(z) = z^2 at mu = sigma = 1: per-sample variances of d/dmu are exactly
    # 30 (REINFORCE), 23 (REINFORCE with baseline f(mu)) and 4 (reparameterization).
    sizes = [1, 4, 16, 64]
    out = gaussian.estimator_variances(
        np.square, lambda z: 2 * z, 1.0, 1.0, sizes, repeats=20_000, seed=3
    )
    assert out["n"].tolist() == sizes
    for name, per_sample in (("reinforce", 30), ("reinforce_baseline", 23), ("reparameterization", 4)):
        scaled = out[f"{name}_var"] * out["n"]  # variance of a mean of n samples: V / n
        assert np.allclose(scaled, per_sample, rtol=0.2), (name, scaled)
        se = np.sqrt(out[f"{name}_var"] / 20_000)
        assert (np.abs(out[f"{name}_mean"] - 2.0) < 5 * se).all()
    assert (out["reparameterization_var"] < out["reinforce_baseline_var"]).all()
    assert (out["reinforce_baseline_var"] < out["reinforce_var"]).all()


def test_estimator_variances_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="positive integers"):
        gaussian.estimator_variances(np.square, np.abs, 0.0, 1.0, [0, 4])
    with pytest.raises(ValueError, match="repeats"):
        gaussian.estimator_variances(np.square, np.abs, 0.0, 1.0, [4], repeats=1)


# --- Jensen's inequality ---------------------------------------------------------------


def test_jensen_gap_signs(rng: np.random.Generator) -> None:
    x = rng.uniform(0.1, 5.0, size=(300, 4))
    assert np.allclose(gaussian.jensen_gap(lambda v: 3 * v - 1, x), 0.0, atol=1e-12)
    assert np.allclose(gaussian.jensen_gap(np.square, x), x.var(axis=0))
    assert (gaussian.jensen_gap(np.log, x) < 0).all()
    assert (gaussian.jensen_gap(np.exp, x) > 0).all()
    assert gaussian.jensen_gap(np.square, x, axis=None).shape == ()


def test_log_mean_exp_is_stable() -> None:
    log_w = np.array([[1000.0, 1000.0 + np.log(3.0)], [-2.0, 0.5]])
    out = gaussian.log_mean_exp(log_w)
    assert np.allclose(out, [1000.0 + np.log(2.0), np.log(np.mean(np.exp([-2.0, 0.5])))])


def test_importance_bound_gap() -> None:
    sigma = 1.5
    gaps = gaussian.importance_bound_gap(sigma, [1, 4, 16, 64], repeats=20_000, seed=1)
    assert gaps[0] == pytest.approx(sigma**2 / 2, rel=0.05)  # the ELBO's gap
    assert (np.diff(gaps) < 0).all() and (gaps > 0).all()


# --- the linear VAE (probabilistic PCA) ------------------------------------------------

D, K = 6, 3
SPECTRUM = np.array([4.0, 2.5, 1.5, 0.6, 0.3, 0.1])  # the data's true variances per direction


def gaussian_data(n: int, seed: int) -> np.ndarray:
    """n points of N(offset, R diag(SPECTRUM) R^T) for a fixed random rotation R."""
    rotation, _ = np.linalg.qr(np.random.default_rng(99).normal(size=(D, D)))
    offset = np.linspace(-1.0, 1.0, D)
    z = np.random.default_rng(seed).normal(size=(n, D)) * np.sqrt(SPECTRUM)
    return z @ rotation.T + offset


def elbo(x, w, mean, noise_var, mu, logvar) -> np.ndarray:
    """The ELBO of each row of x for p(z) = N(0, I), p(x|z) = N(w z + mean, s^2 I) and the
    diagonal q = N(mu, exp(logvar)), in closed form: E_q ||x - mean - w z||^2 is
    ||x - mean - w mu||^2 + sum_j var_j ||w_j||^2, and the KL of q from the prior is summed
    over the dimensions."""
    var = np.exp(logvar)
    residual = x - mean - mu @ w.T
    expected_sq = (residual**2).sum(axis=1) + var @ (w**2).sum(axis=0)
    log_lik = -0.5 * x.shape[1] * np.log(2 * np.pi * noise_var) - expected_sq / (2 * noise_var)
    kl = 0.5 * (mu**2 + var - 1.0 - logvar).sum(axis=1)
    return log_lik - kl


def log_marginal(x, w, mean, noise_var) -> np.ndarray:
    """log p(x) = log N(x; mean, w w^T + s^2 I), with SciPy."""
    cov = w @ w.T + noise_var * np.eye(x.shape[1])
    return stats.multivariate_normal(mean, cov).logpdf(x)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return gaussian_data(3000, seed=7)


@pytest.fixture(scope="module")
def fit(data: np.ndarray) -> gaussian.PCA:
    return gaussian.pca(data)


def test_pca_diagonalizes_the_covariance(data: np.ndarray, fit: gaussian.PCA) -> None:
    covariance = np.cov(data, rowvar=False, bias=True)
    u, lam = fit.components, fit.eigenvalues
    assert np.allclose(fit.mean, data.mean(axis=0))
    assert np.allclose(u.T @ u, np.eye(D), atol=1e-12)
    assert np.allclose(u @ np.diag(lam) @ u.T, covariance, atol=1e-12)
    assert (np.diff(lam) <= 0).all() and (lam >= 0).all()
    # the variance of the data along component j is lambda_j; the singular values agree
    assert np.allclose(((data - fit.mean) @ u).var(axis=0), lam)
    singular = np.linalg.svd(data - data.mean(axis=0), compute_uv=False)
    assert np.allclose(singular**2 / len(data), lam)
    # the sample spectrum is close to the true one
    assert np.allclose(lam, SPECTRUM, rtol=0.1)
    # the sign convention: each column's largest entry (in magnitude) is positive
    assert (u[np.argmax(np.abs(u), axis=0), np.arange(D)] > 0).all()
    # blocks of rows and integer input give the same result
    small = gaussian.pca(data, chunk=7)
    assert np.allclose(small.eigenvalues, lam) and np.allclose(small.components, u)
    images = np.random.default_rng(0).integers(0, 256, size=(50, 4)).astype(np.uint8)
    assert np.allclose(gaussian.pca(images).eigenvalues, gaussian.pca(images / 1.0).eigenvalues)


def test_pca_rejects_bad_input(data: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        gaussian.pca(data[0])
    with pytest.raises(ValueError, match="chunk"):
        gaussian.pca(data, chunk=0)


def test_ppca_noise_variance_maximizes_the_likelihood(data: np.ndarray, fit: gaussian.PCA) -> None:
    s2 = gaussian.ppca_noise_variance(fit.eigenvalues, K)
    assert s2 == pytest.approx(fit.eigenvalues[K:].mean())

    def mean_log_lik(noise_var: float) -> float:
        w = gaussian.linear_vae_decoder(fit, K, noise_var)
        return float(log_marginal(data, w, fit.mean, noise_var).mean())

    best = mean_log_lik(s2)
    for factor in (0.5, 0.8, 0.95, 1.05, 1.25, 2.0):
        assert mean_log_lik(s2 * factor) < best
    with pytest.raises(ValueError, match="discarded"):
        gaussian.ppca_noise_variance(fit.eigenvalues, D)
    with pytest.raises(ValueError, match="latent_dim"):
        gaussian.ppca_noise_variance(fit.eigenvalues, 0)


def test_linear_vae_decoder_is_the_maximum_likelihood_weights(data: np.ndarray, fit: gaussian.PCA) -> None:
    s2 = 0.8  # between lambda_4 and lambda_3: all K columns are non-zero
    w = gaussian.linear_vae_decoder(fit, K, s2)
    assert w.shape == (D, K)
    # the model covariance keeps the top eigenvalues above s^2 and replaces the rest by s^2
    model_cov = w @ w.T + s2 * np.eye(D)
    expected = np.maximum(np.r_[fit.eigenvalues[:K], np.zeros(D - K)], s2)
    assert np.allclose(np.sort(np.linalg.eigvalsh(model_cov))[::-1], expected)
    assert np.allclose(w.T @ w, np.diag(np.clip(fit.eigenvalues[:K] - s2, 0, None)), atol=1e-12)
    best = log_marginal(data, w, fit.mean, s2).mean()
    rng = np.random.default_rng(2)
    for _ in range(5):
        perturbed = w + 0.05 * rng.normal(size=w.shape)
        assert log_marginal(data, perturbed, fit.mean, s2).mean() < best
    # a rotation of W leaves p(x) unchanged: the likelihood alone does not pick the axes
    rotation, _ = np.linalg.qr(rng.normal(size=(K, K)))
    assert log_marginal(data, w @ rotation, fit.mean, s2).mean() == pytest.approx(best)


def test_columns_at_or_below_the_noise_level_are_zero(fit: gaussian.PCA) -> None:
    s2 = float(fit.eigenvalues[1])  # lambda_2 itself: only the first column survives
    w = gaussian.linear_vae_decoder(fit, K, s2)
    assert np.linalg.norm(w[:, 0]) > 1.0
    assert np.abs(w[:, 1:]).max() == 0.0
    with pytest.raises(ValueError, match="noise_var"):
        gaussian.linear_vae_decoder(fit, K, 0.0)
    with pytest.raises(ValueError, match="latent_dim"):
        gaussian.linear_vae_decoder(fit, D + 1, 1.0)


def test_elbo_of_the_tests_matches_monte_carlo(data: np.ndarray, fit: gaussian.PCA) -> None:
    # The closed-form ELBO the tests below rely on, against log p(x|z) + log p(z) - log q(z)
    # averaged over z ~ q, at an arbitrary diagonal q.
    rng = np.random.default_rng(3)
    x = data[:4]
    w = rng.normal(size=(D, K))
    mu, logvar = rng.normal(size=(4, K)), rng.uniform(-1.5, 0.5, size=(4, K))
    std = np.exp(0.5 * logvar)
    z = mu + std * rng.standard_normal((100_000, 4, K))
    log_w = (stats.norm.logpdf(x, z @ w.T + fit.mean, np.sqrt(0.5)).sum(axis=-1)
             + stats.norm.logpdf(z).sum(axis=-1) - stats.norm.logpdf(z, mu, std).sum(axis=-1))
    standard_error = log_w.std(axis=0) / np.sqrt(z.shape[0])
    assert (np.abs(elbo(x, w, fit.mean, 0.5, mu, logvar) - log_w.mean(axis=0)) < 5 * standard_error).all()


def test_linear_vae_encoder_is_the_posterior_for_orthogonal_columns(data: np.ndarray, fit: gaussian.PCA) -> None:
    s2 = gaussian.ppca_noise_variance(fit.eigenvalues, K)
    w = gaussian.linear_vae_decoder(fit, K, s2)
    x = data[:200]
    mu, logvar = gaussian.linear_vae_encoder(x, w, fit.mean, s2)
    assert mu.shape == logvar.shape == (200, K)
    # Gaussian conditioning on the joint of (z, x): mean W^T C^-1 (x - m), cov I - W^T C^-1 W
    c = w @ w.T + s2 * np.eye(D)
    posterior_mean = np.linalg.solve(c, (x - fit.mean).T).T @ w
    posterior_cov = np.eye(K) - w.T @ np.linalg.solve(c, w)
    assert np.allclose(mu, posterior_mean, atol=1e-10)
    assert np.allclose(posterior_cov, np.diag(np.diag(posterior_cov)), atol=1e-12)  # diagonal
    assert np.allclose(np.exp(logvar), np.diag(posterior_cov), atol=1e-12)
    # with the exact posterior the ELBO is tight: it equals log p(x) for every example
    assert np.allclose(elbo(x, w, fit.mean, s2, mu, logvar), log_marginal(x, w, fit.mean, s2), atol=1e-9)


def test_linear_vae_encoder_is_the_best_diagonal_gaussian(data: np.ndarray, fit: gaussian.PCA) -> None:
    rng = np.random.default_rng(4)
    w, s2, x = rng.normal(size=(D, K)), 0.7, data[:300]  # columns not orthogonal
    mu, logvar = gaussian.linear_vae_encoder(x, w, fit.mean, s2)
    c = w @ w.T + s2 * np.eye(D)
    assert np.allclose(mu, np.linalg.solve(c, (x - fit.mean).T).T @ w, atol=1e-10)
    best = elbo(x, w, fit.mean, s2, mu, logvar)
    # below log p(x) by KL(q || posterior) > 0: the posterior is not diagonal
    assert (best < log_marginal(x, w, fit.mean, s2) - 1e-6).all()
    for _ in range(5):  # any other diagonal Gaussian is worse, for every example
        assert (elbo(x, w, fit.mean, s2, mu + 0.1 * rng.normal(size=mu.shape), logvar) < best).all()
        assert (elbo(x, w, fit.mean, s2, mu, logvar + 0.1 * rng.normal(size=K)) < best).all()
    with pytest.raises(ValueError, match="expected"):
        gaussian.linear_vae_encoder(x[:, :3], w, fit.mean, s2)


def test_the_optimum_has_the_highest_elbo(data: np.ndarray, fit: gaussian.PCA) -> None:
    s2 = gaussian.ppca_noise_variance(fit.eigenvalues, K)
    w = gaussian.linear_vae_decoder(fit, K, s2)

    def mean_elbo(weights: np.ndarray, noise_var: float) -> float:
        mu, logvar = gaussian.linear_vae_encoder(data, weights, fit.mean, noise_var)
        return float(elbo(data, weights, fit.mean, noise_var, mu, logvar).mean())

    best = mean_elbo(w, s2)
    assert best == pytest.approx(log_marginal(data, w, fit.mean, s2).mean())
    rng = np.random.default_rng(5)
    for _ in range(5):
        assert mean_elbo(w + 0.05 * rng.normal(size=w.shape), s2) < best
    for factor in (0.7, 1.4):
        assert mean_elbo(w, s2 * factor) < best
        assert mean_elbo(gaussian.linear_vae_decoder(fit, K, s2 * factor), s2 * factor) < best
    # the axis-aligned optimum: a rotated W has the same likelihood but a lower ELBO, because
    # its posterior is no longer diagonal (Lucas et al. 2019)
    rotation, _ = np.linalg.qr(rng.normal(size=(K, K)))
    assert mean_elbo(w @ rotation, s2) < best - 1e-3


@pytest.mark.parametrize("noise_var", [0.2, 0.8, 2.0, 5.0])
def test_kl_per_dimension_at_the_optimum_has_its_closed_form(
    data: np.ndarray, fit: gaussian.PCA, noise_var: float
) -> None:
    w = gaussian.linear_vae_decoder(fit, K, noise_var)
    mu, logvar = gaussian.linear_vae_encoder(data, w, fit.mean, noise_var)
    measured = gaussian.kl_per_dimension(mu, logvar, gaussian.kl_gaussians_logvar)
    closed = gaussian.linear_vae_kl_per_dimension(fit.eigenvalues, K, noise_var)
    assert closed.shape == (K,)
    assert np.allclose(measured, closed, atol=1e-10)  # exact on the data of the PCA
    assert np.allclose(closed, np.where(fit.eigenvalues[:K] > noise_var,
                                        0.5 * np.log(fit.eigenvalues[:K] / noise_var), 0.0))
    collapsed = fit.eigenvalues[:K] <= noise_var
    assert (measured[collapsed] == 0.0).all() and (measured[~collapsed] > 0).all()
    # on fresh data of the same distribution it holds on average
    fresh = gaussian_data(20_000, seed=8)
    mu_new, logvar_new = gaussian.linear_vae_encoder(fresh, w, fit.mean, noise_var)
    assert np.allclose(gaussian.kl_per_dimension(mu_new, logvar_new, gaussian.kl_gaussians_logvar),
                       closed, rtol=0.1, atol=0.02)


def test_kl_per_dimension_closed_form_matches_monte_carlo(data: np.ndarray, fit: gaussian.PCA) -> None:
    # The mean over the data of E_q[log q(z_j|x) - log N(z_j; 0, 1)], by sampling z ~ q.
    noise_var = 0.8
    w = gaussian.linear_vae_decoder(fit, K, noise_var)
    mu, logvar = gaussian.linear_vae_encoder(data, w, fit.mean, noise_var)
    std = np.exp(0.5 * logvar)
    z = mu + std * np.random.default_rng(6).standard_normal((50, *mu.shape))
    log_ratio = (stats.norm.logpdf(z, mu, std) - stats.norm.logpdf(z)).reshape(-1, K)
    standard_error = log_ratio.std(axis=0) / np.sqrt(log_ratio.shape[0])
    closed = gaussian.linear_vae_kl_per_dimension(fit.eigenvalues, K, noise_var)
    assert (np.abs(log_ratio.mean(axis=0) - closed) <= 5 * standard_error + 1e-12).all()
    with pytest.raises(ValueError, match="noise_var"):
        gaussian.linear_vae_kl_per_dimension(fit.eigenvalues, K, -1.0)
