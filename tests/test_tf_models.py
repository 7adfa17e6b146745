"""The three VAEs: shapes for both datasets, architecture, and their methods."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from vaecourse.tf import models

SHAPES = [(28, 28, 1), (32, 32, 3)]
MODELS = [models.CVAE, models.DenseVAE, models.PoolingVAE]


@pytest.mark.parametrize("image_shape", SHAPES)
@pytest.mark.parametrize("latent", [1, 2, 16])
@pytest.mark.parametrize("batch", [1, 5])
def test_build_decoder_output_shape(image_shape, latent, batch):
    decoder = models.build_decoder(latent, image_shape)
    out = decoder(np.zeros((batch, latent), np.float32))
    assert tuple(out.shape) == (batch, *image_shape)


def test_build_decoder_layers_follow_the_tutorial():
    dec = models.build_decoder(2, (32, 32, 3), width=8)
    kinds = [type(layer).__name__ for layer in dec.layers]
    assert kinds == ["Dense", "Reshape", "Conv2DTranspose", "Conv2DTranspose", "Conv2DTranspose"]
    dense, reshape, t1, t2, t3 = dec.layers
    assert dense.units == 8 * 8 * 8 and reshape.target_shape == (8, 8, 8)
    assert (t1.filters, t1.strides, t2.filters, t2.strides) == (16, (2, 2), 8, (2, 2))
    assert (t3.filters, t3.strides) == (3, (1, 1))
    assert t3.activation is keras.activations.linear  # logits


def test_cvae_parameter_count_matches_the_tutorial():
    # TF CVAE tutorial, latent 2: encoder 320 + 18,496 + 9,220; decoder 4,704 + 18,496 + 18,464 + 289
    model = models.CVAE(2)
    assert model.encoder.count_params() == 320 + 18_496 + (6 * 6 * 64 + 1) * 4
    assert model.decoder.count_params() == 4_704 + 18_496 + 18_464 + 289
    assert model.count_params() == model.encoder.count_params() + model.decoder.count_params()


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("image_shape", SHAPES)
@pytest.mark.parametrize("batch", [1, 4])
def test_model_methods_shapes(cls, image_shape, batch):
    latent = 3
    model = cls(latent, image_shape=image_shape, seed=0)
    x = np.random.default_rng(0).random((batch, *image_shape)).astype(np.float32)
    mean, logvar = model.encode(x)
    assert tuple(mean.shape) == (batch, latent) and tuple(logvar.shape) == (batch, latent)
    z = model.reparameterize(mean, logvar)
    assert tuple(z.shape) == (batch, latent)
    logits = model.decode(z)
    probs = model.decode(z, apply_sigmoid=True)
    assert tuple(logits.shape) == (batch, *image_shape)
    np.testing.assert_allclose(probs.numpy(), tf.sigmoid(logits).numpy(), rtol=1e-6)
    assert tuple(model(x).shape) == (batch, *image_shape)
    samples = model.sample(n=batch).numpy()
    assert samples.shape == (batch, *image_shape)
    assert samples.min() >= 0 and samples.max() <= 1
    eps = np.zeros((2, latent), np.float32)
    np.testing.assert_allclose(model.sample(eps).numpy(), model.decode(eps, True).numpy())
    assert len(model.trainable_variables) > 0


def test_cvae_encoder_architecture():
    enc = models.CVAE(4, width=8).encoder
    kinds = [type(layer).__name__ for layer in enc.layers]
    assert kinds == ["Conv2D", "Conv2D", "Flatten", "Dense"]
    c1, c2, _, dense = enc.layers
    assert (c1.filters, c1.strides, c2.filters, c2.strides) == (8, (2, 2), 16, (2, 2))
    assert dense.units == 8


def test_fixed_variance_gives_zero_logvar():
    model = models.CVAE(5, fixed_variance=True)
    mean, logvar = model.encode(np.ones((2, 28, 28, 1), np.float32))
    assert model.encoder.layers[-1].units == 5
    assert tuple(mean.shape) == (2, 5)
    assert np.all(logvar.numpy() == 0)
    dense = models.DenseVAE(5, fixed_variance=True)
    assert np.all(dense.encode(np.ones((1, 28, 28, 1), np.float32))[1].numpy() == 0)


def test_pooling_vae_architecture():
    model = models.PoolingVAE(2)
    enc_kinds = [type(layer).__name__ for layer in model.encoder.layers]
    assert enc_kinds == ["InputLayer", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D",
                         "Flatten", "Dense", "Dense", "Dense"]
    convs = [layer for layer in model.encoder.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [16, 8] and all(c.padding == "same" for c in convs)
    assert [o.name for o in model.encoder.outputs] and len(model.encoder.outputs) == 2
    dec_kinds = [type(layer).__name__ for layer in model.decoder.layers]
    assert dec_kinds == ["Dense", "Dense", "Reshape", "Conv2D", "UpSampling2D", "Conv2D",
                         "UpSampling2D", "Conv2D"]
    assert model.decoder.layers[0].units == 16  # intermediate_dim


def test_dense_vae_hidden_sizes():
    model = models.DenseVAE(3, hidden=(64, 32))
    assert [layer.units for layer in model.encoder.layers if hasattr(layer, "units")] == [64, 32, 6]
    assert [layer.units for layer in model.decoder.layers if hasattr(layer, "units")] == [32, 64, 784]


def test_model_noise_is_seeded():
    x = np.ones((3, 28, 28, 1), np.float32)
    a, b = models.CVAE(2, seed=7), models.CVAE(2, seed=7)
    mean, logvar = tf.zeros((3, 2)), tf.zeros((3, 2))
    np.testing.assert_array_equal(a.reparameterize(mean, logvar), b.reparameterize(mean, logvar))
    assert a(x).shape == (3, 28, 28, 1)


def test_gradients_reach_every_weight():
    model = models.CVAE(2, image_shape=(32, 32, 3), width=4, seed=0)
    x = np.random.default_rng(1).random((2, 32, 32, 3)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - x))
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)


@pytest.mark.parametrize("bad", [(30, 30, 1), (28, 28), (27, 28, 3)])
def test_bad_image_shape_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="divisible by 4"):
        models.CVAE(2, image_shape=bad)


def test_bad_latent_dim():
    with pytest.raises(ValueError, match="latent_dim"):
        models.CVAE(0)


def test_encode_splits_mean_first():
    model = models.CVAE(3, seed=0)
    x = np.random.default_rng(2).random((2, 28, 28, 1)).astype(np.float32)
    out = model.encoder(x).numpy()
    mean, logvar = model.encode(x)
    np.testing.assert_allclose(mean.numpy(), out[:, :3], rtol=1e-6)
    np.testing.assert_allclose(logvar.numpy(), out[:, 3:], rtol=1e-6)


def test_sample_decodes_standard_normal_prior_draws():
    class Identity(models.CVAE):
        def decode(self, z, apply_sigmoid=False):
            return z

    z = Identity(3, seed=0).sample(n=20000).numpy()
    assert z.shape == (20000, 3)
    assert np.all(np.abs(z.mean(0)) < 0.04) and np.all(np.abs(z.std(0) - 1) < 0.03)
    assert (z < 0).mean() == pytest.approx(0.5, abs=0.02)


def test_cvae_uses_a_given_decoder():
    """``CVAE(decoder=...)`` trains and decodes with that decoder (the MNIST notebook's student decoder)."""
    own = models.build_decoder(3, (28, 28, 1), 8)
    model = models.CVAE(3, width=16, seed=0, decoder=own)
    assert model.decoder is own
    decoder_weights = {id(v) for v in own.trainable_variables}
    assert decoder_weights <= {id(v) for v in model.trainable_variables}
    assert len(model.trainable_variables) == len(model.encoder.trainable_variables) + len(decoder_weights)
    z = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_allclose(model.decode(z), own(z), rtol=1e-6)
