"""vaecourse.testkit.fakes: the grade cells' stand-in VAE agrees with its NumPy twin and the losses.

The notebooks' hidden tests compute expected losses with NumPy from a LinearVAE; these
tests check that those NumPy formulas, the stand-in and the reference losses agree.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from vaecourse.testkit import fakes
from vaecourse.tf import losses


def _neg_elbo(fake: fakes.LinearVAE, x: np.ndarray, kl: str) -> float:
    """The notebooks' NumPy negative ELBO (as in the mnist_vae grade cells)."""
    m, lv = fake.np_encode(x)
    z = fake.np_reparameterize(m, lv)
    logits = fake.np_logits(z)
    log_px = -(np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits))))
    log_px = log_px.reshape(len(x), -1).sum(1)
    if kl == "mc":
        div = (stats.norm.logpdf(z, m, np.exp(0.5 * lv)) - stats.norm.logpdf(z)).sum(1)
    else:
        div = -0.5 * (1 + lv - m**2 - np.exp(lv)).sum(1)
    return float(-(log_px - div).mean())


@pytest.mark.parametrize("latent_dim", [1, 2, 5])
def test_tensorflow_methods_equal_the_numpy_twin(latent_dim):
    fake = fakes.LinearVAE(latent_dim=latent_dim, seed=3)
    x = fakes.random_binary_images(np.random.default_rng(0), 6)
    mean, logvar = fake.encode(x)
    np_mean, np_logvar = fake.np_encode(x)
    np.testing.assert_allclose(mean, np_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(logvar, np_logvar, rtol=1e-5, atol=1e-5)
    z = fake.reparameterize(mean, logvar)
    np.testing.assert_allclose(z, fake.np_reparameterize(np_mean, np_logvar), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fake.decode(z), fake.np_logits(z), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fake.decode(z, apply_sigmoid=True), fake.np_decode(z), atol=1e-6)
    np.testing.assert_allclose(fake.sample(z), fake.np_decode(z), atol=1e-6)
    assert fake(x).shape == (6, 28, 28, 1)


def test_the_noise_is_fixed_and_standard_normal():
    fake = fakes.LinearVAE(latent_dim=4, seed=0, max_batch=5000)
    zeros = np.zeros((5000, 4), np.float32)
    a, b = fake.reparameterize(zeros, zeros), fake.reparameterize(zeros, zeros)
    np.testing.assert_array_equal(a, b)
    assert abs(float(np.mean(a))) < 0.05 and abs(float(np.std(a)) - 1) < 0.05


def test_at_prior_the_encoder_returns_the_prior():
    fake = fakes.LinearVAE(latent_dim=3, at_prior=True)
    mean, logvar = fake.encode(fakes.random_binary_images(np.random.default_rng(1), 4))
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_array_equal(logvar, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_negative_elbo_equals_the_reference_losses_on_the_same_noise(seed):
    fake = fakes.LinearVAE(latent_dim=3, seed=seed)
    x = fakes.random_binary_images(np.random.default_rng(seed), 7)
    np.testing.assert_allclose(float(losses.compute_loss(fake, x)), _neg_elbo(fake, x, "mc"), rtol=1e-5)
    np.testing.assert_allclose(
        float(losses.kl_reconstruction_loss(fake, x)), _neg_elbo(fake, x, "closed"), rtol=1e-5
    )


def test_random_binary_images_are_binary_float32():
    x = fakes.random_binary_images(np.random.default_rng(0), 50, (8, 8, 3))
    assert x.shape == (50, 8, 8, 3) and x.dtype == np.float32
    assert set(np.unique(x)) == {0.0, 1.0}
    assert 0.15 < x.mean() < 0.25


def test_stand_ins_replace_names_and_put_everything_back():
    namespace = {"f": "student", "keep": 1}
    with fakes.stand_ins(namespace, f="reference", g="new"):
        assert namespace == {"f": "reference", "keep": 1, "g": "new"}
    assert namespace == {"f": "student", "keep": 1}
    with pytest.raises(RuntimeError), fakes.stand_ins(namespace, f="reference"):
        raise RuntimeError("a failing student function")
    assert namespace == {"f": "student", "keep": 1}


def test_linear_vae_encodings_are_the_posterior_means():
    fake = fakes.LinearVAE(latent_dim=3, seed=4)
    x = fakes.random_binary_images(np.random.default_rng(1), 6)
    z = fakes.linear_vae_encodings(fake, x, batch_size=2)
    assert z.dtype == np.float32 and z.shape == (6, 3)
    np.testing.assert_allclose(z, fake.encode(x)[0].numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="LinearVAE"):
        fakes.linear_vae_encodings(object(), x)
