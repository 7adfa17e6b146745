"""vaecourse.tf.latent: encodings, latent plots, tables, walks and generated images, by behaviour.

A LinearVAE (vaecourse.testkit.fakes) has a linear encoder and a linear decoder with known
weights and fixed noise, so every expected value is computed here with NumPy.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from vaecourse import plots
from vaecourse.testkit import fakes
from vaecourse.tf import latent, models
from vaecourse.tf.sampling import reparameterize


def _images(n: int, seed: int = 0) -> np.ndarray:
    return fakes.random_binary_images(np.random.default_rng(seed), n)


def _scatter_points(fig) -> np.ndarray:
    points = [np.asarray(c.get_offsets()) for ax in fig.axes for c in ax.collections]
    return np.concatenate([p for p in points if p.ndim == 2 and p.shape[1] == 2])


def _sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


# ---- get_allClass_encodings -----------------------------------------------------------------
@pytest.mark.parametrize("n, batch_size", [(23, 5), (23, 23), (23, 100), (7, 1)])
def test_encodings_are_the_posterior_means_of_every_image_in_order(n, batch_size):
    fake = fakes.LinearVAE(latent_dim=3, seed=1)
    x = _images(n)
    z = latent.get_allClass_encodings(fake, x, batch_size=batch_size)
    assert z.dtype == np.float32 and z.shape == (n, 3)
    np.testing.assert_allclose(z, fake.np_encode(x)[0], rtol=1e-5, atol=1e-5)


def test_encodings_are_deterministic_although_the_model_samples():
    model = models.CVAE(2, decoder=models.build_decoder, reparameterize=reparameterize, seed=0)
    x = _images(9, seed=3)
    a = latent.get_allClass_encodings(model, x, batch_size=4)
    b = latent.get_allClass_encodings(model, x, batch_size=9)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # batching changes nothing
    np.testing.assert_allclose(a, np.asarray(model.encode(x)[0]), rtol=1e-5, atol=1e-6)


def test_encodings_reject_bad_arguments():
    fake = fakes.LinearVAE(latent_dim=2)
    with pytest.raises(ValueError, match="batch_size"):
        latent.get_allClass_encodings(fake, _images(3), batch_size=0)
    with pytest.raises(ValueError, match="no images"):
        latent.get_allClass_encodings(fake, _images(3)[:0])


# ---- plot_latent_space ----------------------------------------------------------------------
def test_latent_plot_scatters_the_means_coloured_by_class():
    fake = fakes.LinearVAE(latent_dim=2, seed=4)
    x = _images(40, seed=1)
    labels = np.arange(40) % 4
    fig = latent.plot_latent_space(fake, x, labels, batch_size=16)
    points = _scatter_points(fig)
    np.testing.assert_allclose(_sorted_rows(points), _sorted_rows(fake.np_encode(x)[0]), atol=1e-5)
    (scatter,) = fig.axes[0].collections
    colours = {tuple(np.round(c[:3], 4)) for c in scatter.get_facecolors()}
    assert len(colours) == 4  # one colour per class


def test_latent_plot_projects_larger_latent_spaces_with_pca():
    fake = fakes.LinearVAE(latent_dim=5, seed=2)
    x = _images(30)
    fig = latent.plot_latent_space(fake, x, np.zeros(30, int))
    projected, _ = plots.pca_2d(fake.np_encode(x)[0])
    np.testing.assert_allclose(_sorted_rows(_scatter_points(fig)), _sorted_rows(projected), atol=1e-4)


# ---- coordinates table ----------------------------------------------------------------------
def test_latent_table_rounds_every_coordinate_and_names_the_rows():
    z = np.array([[0.123, -1.987], [2.5, 0.0049]])
    text = latent.format_latent_table(z, row_names=["three", "8"], decimals=2)
    lines = text.splitlines()
    assert lines[0].split() == ["digit", "z[0]", "z[1]"]
    assert [line.split()[0] for line in lines[1:]] == ["three", "8"]
    values = np.array([[float(v) for v in line.split()[1:]] for line in lines[1:]])
    np.testing.assert_allclose(values, np.round(z, 2))
    with pytest.raises(ValueError, match="row names"):
        latent.format_latent_table(z, row_names=["one"])
    with pytest.raises(ValueError, match="rows, latent_dim"):
        latent.format_latent_table(np.zeros(3))


# ---- decoding chosen points and generating --------------------------------------------------
def test_decode_latent_gives_the_pixel_probabilities_of_the_chosen_point():
    fake = fakes.LinearVAE(latent_dim=2, seed=6)
    images = latent.decode_latent(fake, [[0.5, 0.2]])
    assert images.shape == (1, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images, fake.np_decode(np.array([[0.5, 0.2]])), rtol=1e-5, atol=1e-6)
    assert 0.0 < images.min() and images.max() < 1.0


def test_generate_and_display_images_decodes_sampled_codes_with_the_sigmoid():
    fake = fakes.LinearVAE(latent_dim=3, seed=7)
    x = _images(6, seed=4)
    images = latent.generate_and_display_images(fake, x, title="t")
    mean, logvar = fake.np_encode(x)
    expected = fake.np_decode(fake.np_reparameterize(mean, logvar))
    np.testing.assert_allclose(images, expected, rtol=1e-4, atol=1e-5)
    assert plt.get_fignums() == []  # shown (closed under Agg), not left open


# ---- walk_src_to_dst ------------------------------------------------------------------------
def test_walk_decodes_evenly_spaced_points_between_the_two_means():
    fake = fakes.LinearVAE(latent_dim=2, seed=8)
    x = _images(2, seed=5)
    walk = latent.walk_src_to_dst(fake, x[0], x[1], n_steps=7)
    assert walk.shape == (7, 28, 28, 1)
    m = fake.np_encode(x)[0]
    np.testing.assert_allclose(walk[0], fake.np_decode(m[:1])[0], atol=1e-5)  # both ends included
    np.testing.assert_allclose(walk[-1], fake.np_decode(m[1:])[0], atol=1e-5)
    # the fake's decoder is affine before the sigmoid: equal steps in z give equal steps in logits
    logits = np.log(walk / (1 - walk)).reshape(7, -1).astype(np.float64)
    np.testing.assert_allclose(np.diff(logits, 2, axis=0), 0.0, atol=2e-3)


def test_walk_on_a_real_model_starts_and_ends_at_the_reconstructions_of_the_means():
    model = models.CVAE(2, decoder=models.build_decoder, reparameterize=reparameterize, seed=1)
    x = _images(2, seed=6)
    walk = latent.walk_src_to_dst(model, x[0], x[1])
    assert walk.shape == (10, 28, 28, 1)
    mean, _ = model.encode(x)
    ends = np.asarray(model.decode(mean, apply_sigmoid=True))
    np.testing.assert_allclose(walk[[0, -1]], ends, rtol=1e-4, atol=1e-5)


def test_walk_needs_two_steps():
    fake = fakes.LinearVAE()
    with pytest.raises(ValueError, match="n_steps"):
        latent.walk_src_to_dst(fake, _images(1)[0], _images(1)[0], n_steps=1)
