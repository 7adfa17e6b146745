"""vaecourse.tf.metrics: the numbers of the CIFAR-10 and MMD notebooks' tables, by their maths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from vaecourse.tf import fakes, losses, metrics


# -- bits per dimension ----------------------------------------------------------------------
def test_bits_per_dim_of_the_uniform_density_is_eight_bits() -> None:
    # The uniform density on [0, 1] has log p = 0: on the 256-level scale that is the
    # uniform distribution over 256 values, log2(256) = 8 bits per dimension.
    assert metrics.bits_per_dim(0.0, (32, 32, 3)) == pytest.approx(8.0, abs=1e-12)
    assert metrics.bits_per_dim(0.0, (28, 28, 1), levels=2) == pytest.approx(1.0, abs=1e-12)


def test_bits_per_dim_matches_the_formula_for_arrays_and_tensors() -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    nll = rng.normal(-3000, 500, size=7)
    shape = (32, 32, 3)
    d = 32 * 32 * 3
    expected = nll / (d * math.log(2)) + 8.0
    np.testing.assert_allclose(metrics.bits_per_dim(nll, shape), expected, rtol=1e-12)
    got = metrics.bits_per_dim(tf.constant(nll, tf.float32), shape)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # the channels count: a grey image of the same size has 3x fewer dimensions
    assert metrics.bits_per_dim(-3000.0, (32, 32, 1)) < metrics.bits_per_dim(-3000.0, shape)


def test_bits_per_dim_is_the_discrete_entropy_for_a_piecewise_constant_density() -> None:
    # A density constant on each of 256 bins of width 1/256 with bin probabilities p_k
    # has nats = -sum log(256 p_k) per dimension; its bits/dim must equal -log2 p_k.
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(256))
    pixels = rng.integers(0, 256, size=(5, 4, 4, 1))
    nll_nats = -np.log(256 * probs[pixels]).reshape(5, -1).sum(axis=1)
    expected_bits = -np.log2(probs[pixels]).reshape(5, -1).mean(axis=1)
    np.testing.assert_allclose(metrics.bits_per_dim(nll_nats, (4, 4, 1)), expected_bits, rtol=1e-10)


# -- dequantization and the Gaussian likelihood ----------------------------------------------
def test_dequantize_stays_in_each_pixels_bin_and_is_seeded() -> None:
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(50, 8, 8, 3), dtype=np.uint8)
    x = metrics.dequantize(images, seed=3)
    assert x.dtype == np.float32 and x.shape == images.shape
    assert x.min() >= 0.0 and x.max() < 1.0
    np.testing.assert_array_equal(np.floor(x.astype(np.float64) * 256), images)
    offset = x.astype(np.float64) * 256 - images
    assert abs(offset.mean() - 0.5) < 0.02  # uniform noise inside the bin
    np.testing.assert_array_equal(x, metrics.dequantize(images, seed=3))
    assert not np.array_equal(x, metrics.dequantize(images, seed=4))
    with pytest.raises(TypeError, match="integer"):
        metrics.dequantize(images / 255.0)


def test_gaussian_likelihood_is_the_normal_density_of_the_sigmoid_mean() -> None:
    rng = np.random.default_rng(4)
    x = rng.random((3, 4, 4, 3)).astype(np.float32)
    logits = rng.normal(size=x.shape).astype(np.float32)
    sigma = 0.1
    f = metrics.gaussian_likelihood(sigma)
    mean = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = stats.norm.logpdf(x, loc=mean, scale=sigma).reshape(3, -1).sum(axis=1)
    np.testing.assert_allclose(np.asarray(f(x, logits)), expected, rtol=1e-5)
    # usable as the likelihood of the ELBO losses
    np.testing.assert_allclose(
        np.asarray(losses.reconstruction_log_likelihood(x, logits, f)), expected, rtol=1e-5
    )
    with pytest.raises(ValueError, match="positive"):
        metrics.gaussian_likelihood(0.0)


# -- latent usage ----------------------------------------------------------------------------
def test_kl_per_dimension_is_zero_at_the_prior_and_sums_to_the_kl_term() -> None:
    zeros = np.zeros((10, 6), np.float32)
    np.testing.assert_allclose(metrics.kl_per_dimension(zeros, zeros), np.zeros(6), atol=1e-7)
    rng = np.random.default_rng(5)
    mean = rng.normal(size=(40, 6)).astype(np.float32)
    logvar = rng.normal(size=(40, 6)).astype(np.float32)
    per_dim = metrics.kl_per_dimension(mean, logvar)
    m, lv = mean.astype(np.float64), logvar.astype(np.float64)
    closed_form = (-0.5 * (1 + lv - m**2 - np.exp(lv))).mean(axis=0)
    np.testing.assert_allclose(per_dim, closed_form, rtol=1e-5)
    assert (per_dim > 0).all()
    total = np.asarray(losses.kl_to_standard_normal(mean, logvar)).mean()
    assert per_dim.sum() == pytest.approx(total, rel=1e-5)


def test_active_units_counts_dimensions_whose_mean_varies_with_x() -> None:
    rng = np.random.default_rng(6)
    n = 20000
    # variances 1, 0.05, 0.02 (active), 0.005, 0 (inactive); a constant offset changes nothing
    scales = np.sqrt([1.0, 0.05, 0.02, 0.005, 0.0])
    mean = rng.standard_normal((n, 5)) * scales + np.array([0.0, 3.0, -2.0, 5.0, 7.0])
    assert metrics.active_units(mean) == 3
    assert metrics.active_units(mean, threshold=0.001) == 4
    assert metrics.active_units(mean, threshold=2.0) == 0
    assert isinstance(metrics.active_units(mean), int)


def test_mmd_to_prior_is_near_zero_for_prior_codes_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(7)
    z = rng.standard_normal((300, 4)).astype(np.float32)
    near = metrics.mmd_to_prior(z, seed=1)
    assert abs(near) < 0.02
    shifted = [metrics.mmd_to_prior(z + s, seed=1) for s in (0.5, 1.0, 2.0)]
    assert near < shifted[0] < shifted[1] < shifted[2]
    with pytest.raises(ValueError, match="shape"):
        metrics.mmd_to_prior(z[0])


# -- a whole evaluation, checked against NumPy on a model with known weights ------------------
def _np_bernoulli_loglik(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    ll = x * -np.logaddexp(0, -logits) + (1 - x) * -np.logaddexp(0, logits)
    return ll.reshape(len(x), -1).sum(axis=1)


def test_evaluate_vae_matches_numpy_on_a_linear_vae() -> None:
    rng = np.random.default_rng(8)
    shape = (4, 4, 3)
    model = fakes.LinearVAE(latent_dim=3, image_shape=shape, seed=2)
    x = rng.random((12, *shape)).astype(np.float32)
    result = metrics.evaluate_vae(model, x, likelihood="bernoulli", batch_size=64)

    mean, logvar = model.np_encode(x)
    z = model.np_reparameterize(mean, logvar)
    log_px_z = _np_bernoulli_loglik(x.astype(np.float64), model.np_logits(z))
    kl = -0.5 * (1 + logvar - mean**2 - np.exp(logvar)).sum(axis=1)
    elbo = (log_px_z - kl).mean()
    assert result["ELBO"] == pytest.approx(elbo, rel=1e-4)
    assert result["-log p(x|z)"] == pytest.approx(-log_px_z.mean(), rel=1e-4)
    assert result["KL"] == pytest.approx(kl.mean(), rel=1e-4)
    assert result["bits/dim"] == pytest.approx(-elbo / (48 * math.log(2)) + 8, rel=1e-4)
    mse = ((model.np_decode(mean) - x) ** 2).mean()
    assert result["MSE"] == pytest.approx(mse, rel=1e-4)
    assert result["active"] == int((mean.var(axis=0) > 0.01).sum())
    np.testing.assert_allclose(result["kl_per_dim"].sum(), kl.mean(), rtol=1e-4)
    assert set(metrics.COLUMNS) <= set(result)
    # batching does not change the deterministic columns
    batched = metrics.evaluate_vae(model, x[:8], batch_size=3)
    whole = metrics.evaluate_vae(model, x[:8], batch_size=8)
    assert batched["KL"] == pytest.approx(whole["KL"], rel=1e-5)
    assert batched["MSE"] == pytest.approx(whole["MSE"], rel=1e-5)


def test_evaluate_vae_of_an_encoder_at_the_prior_uses_no_latent_units() -> None:
    model = fakes.LinearVAE(latent_dim=4, image_shape=(4, 4, 1), at_prior=True)
    x = np.random.default_rng(9).random((16, 4, 4, 1)).astype(np.float32)
    result = metrics.evaluate_vae(model, x)
    assert result["KL"] == pytest.approx(0.0, abs=1e-6)
    assert result["active"] == 0
    np.testing.assert_allclose(result["kl_per_dim"], np.zeros(4), atol=1e-6)
    with pytest.raises(ValueError, match="images"):
        metrics.evaluate_vae(model, x[0])


# -- presentation ----------------------------------------------------------------------------
def test_format_table_aligns_models_and_formats_each_column() -> None:
    rows = {
        "KL model": {"ELBO": -1234.567, "bits/dim": 6.54321, "active": 7, "kl_per_dim": np.ones(3)},
        "MMD model (lambda=1000)": {"ELBO": -99.0, "bits/dim": 5.0, "active": 32},
    }
    text = metrics.format_table(rows, columns=["ELBO", "bits/dim", "active"])
    lines = text.splitlines()
    assert len(lines) == 3 and len({len(line) for line in lines}) == 1  # aligned
    assert lines[0].split() == ["model", "ELBO", "bits/dim", "active"]
    assert lines[1].split()[-3:] == ["-1234.6", "6.543", "7"]
    assert lines[2].startswith("MMD model (lambda=1000)")
    assert metrics.format_table(rows).splitlines()[0].split() == ["model", "ELBO", "bits/dim", "active"]
    with pytest.raises(KeyError, match="kl_per_dim"):
        metrics.format_table(rows, columns=["kl_per_dim"])
    with pytest.raises(ValueError):
        metrics.format_table({})


def test_plot_kl_per_dimension_draws_one_sorted_panel_per_model() -> None:
    import matplotlib.pyplot as plt

    fig = metrics.plot_kl_per_dimension({"a": np.array([0.1, 3.0, 0.0]), "b": np.ones(5)})
    axes = fig.get_axes()
    assert len(axes) == 2
    heights = [p.get_height() for p in axes[0].patches]
    assert heights == sorted(heights, reverse=True) == [3.0, 0.1, 0.0]
    plt.close(fig)
