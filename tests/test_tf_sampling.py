"""The reparameterization trick, by its statistics and its gradients."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from vaecourse.tf.sampling import Sampling, reparameterize


def _moments_ok(z: np.ndarray, mean: np.ndarray, std: np.ndarray) -> None:
    n = z.shape[0]
    # sample mean within 5 standard errors; sample std within 5 standard errors of s.d.
    assert np.all(np.abs(z.mean(0) - mean) < 5 * std / np.sqrt(n))
    assert np.all(np.abs(z.std(0) - std) < 5 * std / np.sqrt(2 * n))


def test_reparameterize_has_requested_mean_and_std():
    n = 20000
    mean = np.array([0.0, 2.0, -3.0, 0.5], np.float32)
    logvar = np.array([0.0, np.log(4.0), np.log(0.01), 1.3], np.float32)
    z = reparameterize(np.tile(mean, (n, 1)), np.tile(logvar, (n, 1)), seed=3).numpy()
    assert z.shape == (n, 4) and z.dtype == np.float32
    _moments_ok(z, mean, np.exp(0.5 * logvar))


def test_noise_is_standard_normal_and_independent_of_the_parameters():
    n, d = 5000, 3
    a = reparameterize(tf.zeros((n, d)), tf.zeros((n, d)), seed=7).numpy()
    mean = np.full((n, d), 5.0, np.float32)
    logvar = np.full((n, d), np.log(9.0), np.float32)
    b = reparameterize(mean, logvar, seed=7).numpy()
    # same seed: the same eps, so b = 5 + 3 * a exactly (eps does not depend on mean/logvar)
    np.testing.assert_allclose(b, 5.0 + 3.0 * a, rtol=1e-5, atol=1e-5)
    _moments_ok(a, np.zeros(d), np.ones(d))
    corr = np.corrcoef(a.T)
    assert np.all(np.abs(corr - np.eye(d)) < 0.06)


def test_seed_generator_draws_fresh_reproducible_noise():
    m, lv = tf.zeros((4, 2)), tf.zeros((4, 2))
    g1, g2 = keras.random.SeedGenerator(11), keras.random.SeedGenerator(11)
    first, second = reparameterize(m, lv, seed=g1), reparameterize(m, lv, seed=g1)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(first, reparameterize(m, lv, seed=g2))
    np.testing.assert_array_equal(reparameterize(m, lv, seed=5), reparameterize(m, lv, seed=5))


@pytest.mark.parametrize("batch", [1, 3, 17])
def test_shape_follows_the_dynamic_batch_size(batch):
    @tf.function(input_signature=[tf.TensorSpec((None, 5), tf.float32)] * 2)
    def f(mean, logvar):
        return reparameterize(mean, logvar)

    z = f(tf.zeros((batch, 5)), tf.zeros((batch, 5)))
    assert tuple(z.shape) == (batch, 5)


def test_gradients_reach_mean_and_logvar():
    rng = np.random.default_rng(0)
    mean = tf.Variable(rng.normal(size=(6, 3)).astype(np.float32))
    logvar = tf.Variable(rng.normal(size=(6, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        z = reparameterize(mean, logvar, seed=1)
        total = tf.reduce_sum(z)
    g_mean, g_logvar = tape.gradient(total, [mean, logvar])
    eps = (z.numpy() - mean.numpy()) / np.exp(0.5 * logvar.numpy())
    np.testing.assert_allclose(g_mean.numpy(), np.ones((6, 3)), rtol=1e-6)
    # dz/dlogvar = 0.5 * exp(0.5 * logvar) * eps
    np.testing.assert_allclose(
        g_logvar.numpy(), 0.5 * np.exp(0.5 * logvar.numpy()) * eps, rtol=1e-4, atol=1e-6
    )


def test_sampling_layer_statistics_and_no_trainable_weights():
    layer = Sampling(seed=0)
    n = 20000
    mean = np.array([1.0, -1.0], np.float32)
    logvar = np.array([np.log(0.25), np.log(2.0)], np.float32)
    z = layer((np.tile(mean, (n, 1)), np.tile(logvar, (n, 1)))).numpy()
    _moments_ok(z, mean, np.exp(0.5 * logvar))
    assert layer.trainable_weights == []


def test_sampling_layer_is_seeded_and_draws_fresh_noise():
    inputs = (tf.zeros((3, 4)), tf.zeros((3, 4)))
    a, b = Sampling(seed=42), Sampling(seed=42)
    first = a(inputs).numpy()
    np.testing.assert_array_equal(first, b(inputs).numpy())
    assert not np.allclose(first, a(inputs).numpy())
    assert not np.allclose(first, Sampling(seed=43)(inputs).numpy())


def test_sampling_layer_in_a_functional_model_and_its_gradients():
    inputs = keras.Input(shape=(8,))
    z_mean = keras.layers.Dense(2)(inputs)
    z_log_var = keras.layers.Dense(2)(inputs)
    z = Sampling(seed=0)([z_mean, z_log_var])
    model = keras.Model(inputs, [z_mean, z_log_var, z])
    x = tf.ones((1, 8))
    with tf.GradientTape() as tape:
        _, _, zz = model(x)
        loss = tf.reduce_sum(zz**2)
    grads = tape.gradient(loss, model.trainable_variables)
    assert tuple(zz.shape) == (1, 2)
    assert all(g is not None and np.any(g.numpy() != 0) for g in grads)
    assert Sampling(seed=3).get_config()["seed"] == 3
