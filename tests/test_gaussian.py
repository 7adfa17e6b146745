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
