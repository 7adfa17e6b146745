"""Kernels and the maximum mean discrepancy, by their mathematics."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import expit
from vaecourse.tf import mmd


def np_sqdist(x, y):
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def np_mmd(x, y, k, unbiased):
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    if unbiased:
        n, m = len(x), len(y)
        return ((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
                + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())
    return kxx.mean() + kyy.mean() - 2 * kxy.mean()


def test_gaussian_kernel_formula_symmetry_and_diagonal(rng):
    x = rng.normal(size=(6, 3)).astype(np.float32)
    y = rng.normal(size=(4, 3)).astype(np.float32)
    k = mmd.gaussian_kernel(x, y).numpy()
    assert k.shape == (6, 4)
    np.testing.assert_allclose(k, np.exp(-np_sqdist(x, y) / (2 * 3)), rtol=1e-5)
    np.testing.assert_allclose(
        mmd.gaussian_kernel(x, y, bandwidth=0.7).numpy(),
        np.exp(-np_sqdist(x, y) / (2 * 0.49)), rtol=1e-5,
    )
    kxx = mmd.gaussian_kernel(x, x).numpy()
    np.testing.assert_allclose(kxx, kxx.T, rtol=1e-6)
    np.testing.assert_allclose(np.diag(kxx), 1.0, rtol=1e-6)
    assert np.all((kxx > 0) & (kxx <= 1))
    # positive semi-definite
    assert np.linalg.eigvalsh(kxx.astype(np.float64)).min() > -1e-5


def test_imq_kernel(rng):
    x = rng.normal(size=(5, 4)).astype(np.float32)
    y = rng.normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(
        mmd.imq_kernel(x, y).numpy(), 8 / (8 + np_sqdist(x, y)), rtol=1e-5
    )
    np.testing.assert_allclose(
        mmd.imq_kernel(x, y, scale=2.0).numpy(), 2 / (2 + np_sqdist(x, y)), rtol=1e-5
    )
    kxx = mmd.imq_kernel(x, x).numpy()
    np.testing.assert_allclose(np.diag(kxx), 1.0)
    np.testing.assert_allclose(kxx, kxx.T, rtol=1e-6)


@pytest.mark.parametrize("kernel", ["rbf", "imq"])
@pytest.mark.parametrize("unbiased", [True, False])
def test_mmd_matches_numpy(rng, kernel, unbiased):
    x = rng.normal(size=(20, 3)).astype(np.float32)
    y = rng.normal(loc=0.5, size=(15, 3)).astype(np.float32)
    if kernel == "rbf":
        def k(a, b):
            return np.exp(-np_sqdist(a, b) / 6.0)
    else:
        def k(a, b):
            return 6.0 / (6.0 + np_sqdist(a, b))
    got = mmd.mmd(x, y, kernel=kernel, unbiased=unbiased).numpy()
    np.testing.assert_allclose(got, np_mmd(x, y, k, unbiased), rtol=1e-4, atol=1e-6)


def test_mmd_of_a_sample_with_itself(rng):
    x = rng.normal(size=(64, 4)).astype(np.float32)
    assert abs(float(mmd.mmd(x, x, unbiased=False))) < 1e-6  # the V-statistic is exactly 0
    # the U-statistic of identical samples is -O(1/n), near 0
    assert abs(float(mmd.mmd(x, x, unbiased=True))) < 2.0 / len(x)


def test_unbiased_is_centred_at_zero_and_biased_is_positive(rng):
    unbiased, biased = [], []
    for _ in range(40):
        x = rng.normal(size=(32, 2)).astype(np.float32)
        y = rng.normal(size=(32, 2)).astype(np.float32)
        unbiased.append(float(mmd.mmd(x, y, unbiased=True)))
        biased.append(float(mmd.mmd(x, y, unbiased=False)))
    unbiased, biased = np.array(unbiased), np.array(biased)
    assert abs(unbiased.mean()) < 3 * unbiased.std() / np.sqrt(len(unbiased))
    assert np.all(biased > 0) and biased.mean() < 0.2
    assert biased.mean() > unbiased.mean()


@pytest.mark.parametrize("kernel", ["rbf", "imq"])
def test_mmd_grows_with_a_shift(rng, kernel):
    x = rng.normal(size=(200, 2)).astype(np.float32)
    y = rng.normal(size=(200, 2)).astype(np.float32)
    values = [float(mmd.mmd(x, y + shift, kernel=kernel)) for shift in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert all(a < b for a, b in zip(values, values[1:], strict=False))
    assert abs(values[0]) < 0.02 and values[-1] > 0.5


def test_mmd_is_symmetric_and_order_independent(rng):
    x = rng.normal(size=(30, 3)).astype(np.float32)
    y = rng.normal(loc=1.0, size=(25, 3)).astype(np.float32)
    base = float(mmd.mmd(x, y))
    assert float(mmd.mmd(y, x)) == pytest.approx(base, rel=1e-5)
    assert float(mmd.mmd(x[rng.permutation(30)], y[rng.permutation(25)])) == pytest.approx(
        base, rel=1e-4
    )


def test_mmd_gradients_reach_the_inputs(rng):
    x = tf.Variable(rng.normal(size=(16, 3)).astype(np.float32))
    y = tf.constant(rng.normal(loc=1.0, size=(16, 3)).astype(np.float32))
    for kernel in ("rbf", "imq"):
        with tf.GradientTape() as tape:
            value = mmd.mmd(x, y, kernel=kernel)
        grad = tape.gradient(value, x).numpy()
        assert np.isfinite(grad).all() and np.abs(grad).max() > 1e-4
    # a small step against the gradient reduces the discrepancy
    with tf.GradientTape() as tape:
        value = mmd.mmd(x, y)
    grad = tape.gradient(value, x)
    assert float(mmd.mmd(x - 2.0 * grad, y)) < float(value)


def test_custom_and_unknown_kernels(rng):
    x = rng.normal(size=(8, 2)).astype(np.float32)
    y = rng.normal(size=(8, 2)).astype(np.float32)
    linear = float(mmd.mmd(x, y, kernel=lambda a, b: tf.matmul(a, b, transpose_b=True),
                           unbiased=False))
    # with the linear kernel the biased MMD^2 is ||mean(x) - mean(y)||^2
    assert linear == pytest.approx(float(((x.mean(0) - y.mean(0)) ** 2).sum()), rel=1e-4)
    with pytest.raises(ValueError, match="kernel"):
        mmd.mmd(x, y, kernel="laplace")


class _Stub:
    """Deterministic encoder (logvar 0), linear decoder, seed generator for the prior."""

    def __init__(self, rng):
        self.mean = rng.normal(size=(6, 2)).astype(np.float32)
        self.w = rng.normal(size=(2, 16)).astype(np.float32)
        self.seed_generator = keras.random.SeedGenerator(3)

    def encode(self, x):
        return tf.constant(self.mean), tf.zeros_like(self.mean)

    def reparameterize(self, mean, logvar):
        raise AssertionError("use_mean=True must not sample")

    def decode(self, z, apply_sigmoid=False):
        return tf.reshape(tf.matmul(z, self.w), (-1, 4, 4, 1))


def test_mmd_loss_is_reconstruction_plus_weighted_mmd(rng):
    stub = _Stub(rng)
    x = (rng.random((6, 4, 4, 1)) > 0.5).astype(np.float32)
    got = float(mmd.mmd_loss(stub, x, lam=10.0, use_mean=True))
    p = expit((stub.mean @ stub.w).reshape(6, 4, 4, 1).astype(np.float64))
    recon = -np.mean((x * np.log(p) + (1 - x) * np.log1p(-p)).reshape(6, -1).sum(1))
    prior = keras.random.normal((6, 2), seed=keras.random.SeedGenerator(3)).numpy()
    expected = recon + 10.0 * np_mmd(stub.mean, prior,
                                     lambda a, b: np.exp(-np_sqdist(a, b) / 4.0), True)
    assert got == pytest.approx(expected, rel=1e-4)
