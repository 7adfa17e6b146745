"""Log-densities, KL divergences, likelihoods and the ELBO losses, by their mathematics."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats
from scipy.special import expit
from vaecourse.tf import losses, metrics, models
from vaecourse.tf.sampling import reparameterize


def np_log_normal(x, mean, logvar):
    return stats.norm.logpdf(x, loc=mean, scale=np.exp(0.5 * np.asarray(logvar)))


def test_log_normal_pdf_matches_scipy(rng):
    x = rng.normal(size=(7, 5)).astype(np.float32)
    mean = rng.normal(size=(7, 5)).astype(np.float32)
    logvar = rng.normal(size=(7, 5)).astype(np.float32)
    got = losses.log_normal_pdf(x, mean, logvar).numpy()
    assert got.shape == (7,) and got.dtype == np.float32
    np.testing.assert_allclose(got, np_log_normal(x, mean, logvar).sum(1), rtol=1e-5)
    # the standard normal via scalars, and another reduction axis
    np.testing.assert_allclose(
        losses.log_normal_pdf(x, 0.0, 0.0).numpy(), stats.norm.logpdf(x).sum(1), rtol=1e-5
    )
    x3 = rng.normal(size=(2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(
        losses.log_normal_pdf(x3, 0.5, 0.2, raxis=2).numpy(),
        np_log_normal(x3, 0.5, 0.2).sum(2), rtol=1e-5,
    )


def test_kl_to_standard_normal_zero_at_prior_and_nonnegative(rng):
    assert np.all(losses.kl_to_standard_normal(np.zeros((3, 4)), np.zeros((3, 4))).numpy() == 0)
    mean = rng.normal(scale=2, size=(500, 6)).astype(np.float32)
    logvar = rng.normal(scale=2, size=(500, 6)).astype(np.float32)
    kl = losses.kl_to_standard_normal(mean, logvar).numpy()
    assert kl.shape == (500,)
    assert np.all(kl >= 0)
    # strictly positive away from the prior
    kl_one = losses.kl_to_standard_normal([[1.0, 0.0]], [[0.0, 0.0]]).numpy()
    np.testing.assert_allclose(kl_one, [0.5])


def test_analytic_kl_matches_monte_carlo(rng):
    mean = np.array([0.7, -1.2, 0.0], np.float32)
    logvar = np.array([-0.5, 0.8, np.log(0.3)], np.float32)
    n = 400_000
    z = mean + np.exp(0.5 * logvar) * rng.standard_normal((n, 3))
    log_ratio = (np_log_normal(z, mean, logvar) - stats.norm.logpdf(z)).sum(1)
    mc, se = log_ratio.mean(), log_ratio.std() / np.sqrt(n)
    kl = float(losses.kl_to_standard_normal(mean[None], logvar[None]).numpy()[0])
    assert abs(kl - mc) < 4 * se


def test_kl_gaussians_general_case(rng):
    mu1, lv1, mu2, lv2 = (rng.normal(size=(4, 3)).astype(np.float32) for _ in range(4))
    got = losses.kl_gaussians(mu1, lv1, mu2, lv2).numpy()
    s1, s2 = np.exp(0.5 * lv1), np.exp(0.5 * lv2)
    expected = np.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.all(got >= 0)
    np.testing.assert_allclose(losses.kl_gaussians(mu1, lv1, mu1, lv1).numpy(), 0, atol=1e-6)
    # with the prior as the second argument it is the per-dimension standard KL
    np.testing.assert_allclose(
        losses.kl_gaussians(mu1, lv1, 0.0, 0.0).numpy().sum(1),
        losses.kl_to_standard_normal(mu1, lv1).numpy(), rtol=1e-5,
    )
    # not symmetric
    assert not np.allclose(got, losses.kl_gaussians(mu2, lv2, mu1, lv1).numpy())


def test_kl_gaussians_matches_monte_carlo(rng):
    mu1, lv1, mu2, lv2 = 0.3, np.log(0.5), -1.0, np.log(2.0)
    x = mu1 + np.exp(0.5 * lv1) * rng.standard_normal(400_000)
    log_ratio = np_log_normal(x, mu1, lv1) - np_log_normal(x, mu2, lv2)
    kl = float(losses.kl_gaussians(mu1, lv1, mu2, lv2).numpy())
    assert abs(kl - log_ratio.mean()) < 4 * log_ratio.std() / np.sqrt(len(x))


def test_bernoulli_log_likelihood(rng):
    x = (rng.random((3, 4, 4, 2)) > 0.5).astype(np.float32)
    logits = rng.normal(scale=3, size=x.shape).astype(np.float32)
    p = expit(logits.astype(np.float64))
    expected = (x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=(1, 2, 3))
    got = losses.bernoulli_log_likelihood(x, logits).numpy()
    assert got.shape == (3,)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # equals TensorFlow's -sigmoid_cross_entropy, summed, and is finite for huge logits
    ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits).numpy()
    np.testing.assert_allclose(got, -ce.sum(axis=(1, 2, 3)), rtol=1e-5)
    big = losses.bernoulli_log_likelihood(np.ones((1, 2)), np.array([[-200.0, 200.0]])).numpy()
    np.testing.assert_allclose(big, [-200.0], rtol=1e-6)


def test_gaussian_log_likelihood(rng):
    x = rng.random((2, 3, 3, 3)).astype(np.float32)
    mean = rng.random(x.shape).astype(np.float32)
    got = losses.gaussian_log_likelihood(x, mean, logvar=np.log(0.1)).numpy()
    expected = stats.norm.logpdf(x, mean, np.sqrt(0.1)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(
        losses.gaussian_log_likelihood(x, mean).numpy(),
        stats.norm.logpdf(x, mean).sum(axis=(1, 2, 3)), rtol=1e-5,
    )


class LinearStub:
    """A model with fixed encoder outputs, recorded noise and a linear decoder."""

    def __init__(self, rng, batch=5, latent=3, image_shape=(4, 4, 1)):
        self.image_shape = image_shape
        self.mean = rng.normal(size=(batch, latent)).astype(np.float32)
        self.logvar = rng.normal(scale=0.5, size=(batch, latent)).astype(np.float32)
        self.eps = rng.standard_normal((batch, latent)).astype(np.float32)
        self.w = rng.normal(size=(latent, int(np.prod(image_shape)))).astype(np.float32)
        self.b = rng.normal(size=int(np.prod(image_shape))).astype(np.float32)

    def encode(self, x):
        return tf.constant(self.mean), tf.constant(self.logvar)

    def reparameterize(self, mean, logvar):
        return mean + tf.exp(0.5 * logvar) * self.eps

    def decode(self, z, apply_sigmoid=False):
        logits = tf.reshape(tf.matmul(z, self.w) + self.b, (-1, *self.image_shape))
        return tf.sigmoid(logits) if apply_sigmoid else logits

    def numpy_terms(self, x):
        z = self.mean + np.exp(0.5 * self.logvar) * self.eps
        logits = (z @ self.w + self.b).reshape(x.shape)
        p = expit(logits.astype(np.float64))
        log_px = (x * np.log(p) + (1 - x) * np.log1p(-p)).reshape(len(x), -1).sum(1)
        return z, logits, log_px


def test_compute_loss_equals_numpy_on_the_same_noise(rng):
    stub = LinearStub(rng)
    x = (rng.random((5, 4, 4, 1)) > 0.5).astype(np.float32)
    z, _, log_px = stub.numpy_terms(x)
    log_pz = stats.norm.logpdf(z).sum(1)
    log_qz = np_log_normal(z, stub.mean, stub.logvar).sum(1)
    expected = -np.mean(log_px + log_pz - log_qz)
    got = losses.compute_loss(stub, x)
    assert got.shape == () and got.dtype == tf.float32
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


def test_kl_reconstruction_loss_equals_numpy_on_the_same_noise(rng):
    stub = LinearStub(rng)
    x = (rng.random((5, 4, 4, 1)) > 0.5).astype(np.float32)
    _, _, log_px = stub.numpy_terms(x)
    kl = -0.5 * np.sum(1 + stub.logvar - stub.mean**2 - np.exp(stub.logvar), axis=1)
    expected = np.mean(-log_px + kl)
    np.testing.assert_allclose(losses.kl_reconstruction_loss(stub, x).numpy(), expected, rtol=1e-5)


def test_gaussian_and_custom_likelihoods(rng):
    stub = LinearStub(rng)
    x = rng.random((5, 4, 4, 1)).astype(np.float32)
    _, logits, _ = stub.numpy_terms(x)
    log_px = stats.norm.logpdf(x, expit(logits)).reshape(5, -1).sum(1)
    kl = -0.5 * np.sum(1 + stub.logvar - stub.mean**2 - np.exp(stub.logvar), axis=1)
    unit_gaussian = metrics.gaussian_likelihood(1.0)
    np.testing.assert_allclose(
        losses.kl_reconstruction_loss(stub, x, likelihood=unit_gaussian).numpy(),
        np.mean(-log_px + kl), rtol=1e-5,
    )
    custom = losses.kl_reconstruction_loss(stub, x, likelihood=lambda x, logits: tf.zeros(5))
    np.testing.assert_allclose(custom.numpy(), kl.mean(), rtol=1e-5)
    for unknown in ("poisson", "gaussian"):  # a Gaussian is a function: it needs its sigma
        with pytest.raises(ValueError, match="gaussian_likelihood"):
            losses.compute_loss(stub, x, likelihood=unknown)


def test_losses_on_a_real_cvae_match_numpy(keras_seed, rng):
    class Recording(models.CVAE):
        def reparameterize(self, mean, logvar):
            self.z = super().reparameterize(mean, logvar)
            return self.z

    model = Recording(2, decoder=models.build_decoder, reparameterize=reparameterize, seed=0)
    x = (rng.random((3, 28, 28, 1)) > 0.5).astype(np.float32)
    loss = losses.compute_loss(model, x).numpy()
    mean, logvar = (t.numpy() for t in model.encode(x))
    z = model.z.numpy()
    p = expit(model.decode(z).numpy().astype(np.float64))
    log_px = (x * np.log(p) + (1 - x) * np.log1p(-p)).reshape(3, -1).sum(1)
    expected = -np.mean(log_px + stats.norm.logpdf(z).sum(1) - np_log_normal(z, mean, logvar).sum(1))
    np.testing.assert_allclose(loss, expected, rtol=1e-4)
