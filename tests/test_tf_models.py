"""The VAEs and their builders: shapes for both datasets, architecture, and their methods."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from vaecourse.tf import models
from vaecourse.tf.sampling import reparameterize

SHAPES = [(28, 28, 1), (32, 32, 3)]


def cvae(latent_dim, image_shape=(28, 28, 1), filters=32, **kwargs):
    """The CVAE with the package's own decoder and reparameterization (as later notebooks pass them)."""
    return models.CVAE(latent_dim, image_shape, filters, decoder=models.build_decoder,
                       reparameterize=reparameterize, **kwargs)


def dense_vae(latent_dim, image_shape=(28, 28, 1), fixed_variance=False, **kwargs):
    encoder = models.build_dense_encoder(latent_dim, image_shape, 64)
    if fixed_variance:
        encoder = models.fix_variance(encoder)
    return models.VAE(encoder, models.build_dense_decoder(latent_dim, image_shape, 64),
                      reparameterize=reparameterize, **kwargs)


def pooling_vae(latent_dim, image_shape=(28, 28, 1), **kwargs):
    return models.VAE(models.build_pooling_encoder(latent_dim, image_shape),
                      models.build_pooling_decoder(latent_dim, image_shape),
                      reparameterize=reparameterize, **kwargs)


MAKERS = [cvae, dense_vae, pooling_vae]


def kinds(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers if type(layer).__name__ != "InputLayer"]


@pytest.mark.parametrize("image_shape", SHAPES)
@pytest.mark.parametrize("latent", [1, 2, 16])
@pytest.mark.parametrize("batch", [1, 5])
def test_build_decoder_output_shape(image_shape, latent, batch):
    decoder = models.build_decoder(latent, image_shape)
    out = decoder(np.zeros((batch, latent), np.float32))
    assert tuple(out.shape) == (batch, *image_shape)


def test_build_decoder_layers_follow_the_tutorial():
    dec = models.build_decoder(2, (32, 32, 3), filters=8)
    assert kinds(dec) == ["Dense", "Reshape", "Conv2DTranspose", "Conv2DTranspose", "Conv2DTranspose"]
    dense, reshape, t1, t2, t3 = dec.layers
    assert dense.units == 8 * 8 * 8 and reshape.target_shape == (8, 8, 8)
    assert (t1.filters, t1.strides, t2.filters, t2.strides) == (16, (2, 2), 8, (2, 2))
    assert (t3.filters, t3.strides) == (3, (1, 1))
    assert t3.activation is keras.activations.linear  # logits


def test_cvae_parameter_count_matches_the_tutorial():
    # TF CVAE tutorial, latent 2: encoder 320 + 18,496 + 9,220; decoder 4,704 + 18,496 + 18,464 + 289
    model = cvae(2)
    assert model.encoder.count_params() == 320 + 18_496 + (6 * 6 * 64 + 1) * 4
    assert model.decoder.count_params() == 4_704 + 18_496 + 18_464 + 289
    assert model.count_params() == model.encoder.count_params() + model.decoder.count_params()


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("image_shape", SHAPES)
@pytest.mark.parametrize("batch", [1, 4])
def test_model_methods_shapes(make, image_shape, batch):
    latent = 3
    model = make(latent, image_shape=image_shape, seed=0)
    assert model.latent_dim == latent and model.image_shape == image_shape
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
    enc = cvae(4, filters=8).encoder
    assert kinds(enc) == ["Conv2D", "Conv2D", "Flatten", "Dense"]
    c1, c2, _, dense = enc.layers
    assert (c1.filters, c1.strides, c2.filters, c2.strides) == (8, (2, 2), 16, (2, 2))
    assert dense.units == 8


def test_fixed_variance_gives_zero_logvar():
    model = cvae(5, fixed_variance=True)
    mean, logvar = model.encode(np.ones((2, 28, 28, 1), np.float32))
    assert model.encoder.layers[-1].units == 5
    assert tuple(mean.shape) == (2, 5)
    assert np.all(logvar.numpy() == 0)


def test_fix_variance_keeps_the_mean_and_drops_the_variance_head():
    encoder = models.build_dense_encoder(3, intermediate_dim=32)
    fixed = models.fix_variance(encoder)
    x = np.random.default_rng(1).random((4, 28, 28, 1)).astype(np.float32)
    mean, logvar = fixed(x)
    np.testing.assert_allclose(mean.numpy(), encoder(x)[0].numpy(), rtol=1e-6)  # shared layers
    assert np.all(logvar.numpy() == 0)
    head = encoder.get_layer("z_log_var")
    assert {id(v) for v in head.trainable_variables}.isdisjoint(id(v) for v in fixed.trainable_variables)
    # learning only the mean: a VAE with it has no log-variance weights to train
    vae = dense_vae(3, fixed_variance=True, seed=0)
    assert np.all(vae.encode(x)[1].numpy() == 0)


def test_dense_encoder_and_decoder_follow_the_sheet():
    enc = models.build_dense_encoder(2, intermediate_dim=256)
    assert kinds(enc) == ["Flatten", "Dense", "Dense", "Dense"]
    assert [o.shape for o in enc.outputs] == [(None, 2), (None, 2)]
    hidden = enc.layers[2]
    assert hidden.units == 256 and hidden.activation is keras.activations.relu
    assert enc.count_params() == 784 * 256 + 256 + 2 * (256 * 2 + 2)
    dec = models.build_dense_decoder(2, intermediate_dim=256)
    assert kinds(dec) == ["Dense", "Dense", "Reshape"]
    assert dec.layers[-2].activation is keras.activations.linear  # logits
    assert dec.count_params() == 2 * 256 + 256 + 256 * 784 + 784


def test_pooling_encoder_and_decoder_follow_the_sheet():
    enc = models.build_pooling_encoder(2, intermediate_dim=16)
    assert kinds(enc) == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten",
                          "Dense", "Dense", "Dense"]
    convs = [layer for layer in enc.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [16, 8] and all(c.padding == "same" for c in convs)
    assert [o.name for o in enc.outputs] and len(enc.outputs) == 2
    dec = models.build_pooling_decoder(2, intermediate_dim=16)
    assert kinds(dec) == ["Dense", "Dense", "Reshape", "Conv2D", "UpSampling2D", "Conv2D",
                          "UpSampling2D", "Conv2D"]
    assert dec.layers[1].units == 16  # intermediate_dim
    reshape = next(layer for layer in dec.layers if type(layer).__name__ == "Reshape")
    assert reshape.target_shape == (8, 8, 8)  # 8 -> 16 -> 14 (unpadded conv) -> 28
    unpadded = [layer for layer in dec.layers if type(layer).__name__ == "Conv2D"][1]
    assert (unpadded.filters, unpadded.padding) == (16, "valid")


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3), (20, 12, 2)])
def test_pooling_decoder_size_arithmetic(image_shape):
    dec = models.build_pooling_decoder(4, image_shape)
    assert tuple(dec(np.zeros((3, 4), np.float32)).shape) == (3, *image_shape)


def test_generator_shares_the_decoder_and_outputs_probabilities():
    decoder = models.build_dense_decoder(2, intermediate_dim=16)
    generator = models.build_generator(decoder)
    z = np.array([[0.5, 0.2], [-1.0, 2.0]], np.float32)
    np.testing.assert_allclose(generator.predict(z, verbose=0), tf.sigmoid(decoder(z)).numpy(),
                               rtol=1e-5, atol=1e-6)
    assert {id(v) for v in generator.trainable_variables} == {id(v) for v in decoder.trainable_variables}
    decoder.layers[-2].bias.assign(decoder.layers[-2].bias + 1.0)  # training the decoder ...
    np.testing.assert_allclose(generator(z).numpy(), tf.sigmoid(decoder(z)).numpy(),
                               rtol=1e-5, atol=1e-6)  # ... changes the generator


def test_vae_rejects_an_encoder_without_two_heads():
    one_head = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                 keras.layers.Dense(4)])
    with pytest.raises(ValueError, match=r"\[z_mean, z_log_var\]"):
        models.VAE(one_head, models.build_dense_decoder(2), reparameterize=reparameterize)


def test_models_need_the_student_pieces_as_arguments():
    with pytest.raises(TypeError, match="reparameterize="):
        models.VAE(models.build_dense_encoder(2), models.build_dense_decoder(2))
    with pytest.raises(TypeError, match="reparameterize="):
        models.VAE(models.build_dense_encoder(2), models.build_dense_decoder(2), reparameterize=0.5)


def test_cvae_needs_the_decoder_and_reparameterize_and_accepts_width():
    """No fallback to the package's own pieces (they are fill-ins): a clear error names what to pass."""
    with pytest.raises(TypeError, match=r"reparameterize=.*sampling\.reparameterize"):
        models.CVAE(2, (32, 32, 3), width=8, seed=0, decoder=models.build_decoder)
    with pytest.raises(TypeError, match=r"decoder=.*models\.build_decoder"):
        models.CVAE(2, (32, 32, 3), width=8, seed=0, reparameterize=reparameterize)
    model = models.CVAE(2, (32, 32, 3), width=8, seed=0, decoder=models.build_decoder,
                        reparameterize=reparameterize)  # the later notebooks' call
    assert model.filters == 8 and model.decoder.layers[0].units == 8 * 8 * 8
    assert model.reparameterize_fn is reparameterize
    assert tuple(model(np.zeros((1, 32, 32, 3), np.float32)).shape) == (1, 32, 32, 3)


def test_the_given_reparameterize_is_called_with_the_models_seed_generator():
    calls = []

    def recording(mean, logvar, seed=None):
        calls.append(seed)
        return mean

    model = models.CVAE(2, decoder=models.build_decoder, reparameterize=recording, seed=3)
    mean = tf.ones((2, 2))
    assert model.reparameterize(mean, tf.zeros((2, 2))) is mean
    assert calls == [model.seed_generator]


def test_model_noise_is_seeded():
    x = np.ones((3, 28, 28, 1), np.float32)
    a, b = cvae(2, seed=7), cvae(2, seed=7)
    mean, logvar = tf.zeros((3, 2)), tf.zeros((3, 2))
    np.testing.assert_array_equal(a.reparameterize(mean, logvar), b.reparameterize(mean, logvar))
    assert a(x).shape == (3, 28, 28, 1)


def test_gradients_reach_every_weight():
    model = cvae(2, image_shape=(32, 32, 3), filters=4, seed=0)
    x = np.random.default_rng(1).random((2, 32, 32, 3)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - x))
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)


@pytest.mark.parametrize("bad", [(30, 30, 1), (28, 28), (27, 28, 3)])
def test_bad_image_shape_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="divisible by 4"):
        cvae(2, image_shape=bad)


def test_bad_latent_dim():
    with pytest.raises(ValueError, match="latent_dim"):
        cvae(0)


def test_encode_splits_mean_first():
    model = cvae(3, seed=0)
    x = np.random.default_rng(2).random((2, 28, 28, 1)).astype(np.float32)
    out = model.encoder(x).numpy()
    mean, logvar = model.encode(x)
    np.testing.assert_allclose(mean.numpy(), out[:, :3], rtol=1e-6)
    np.testing.assert_allclose(logvar.numpy(), out[:, 3:], rtol=1e-6)


def test_sample_decodes_standard_normal_prior_draws():
    class Identity(models.CVAE):
        def decode(self, z, apply_sigmoid=False):
            return z

    z = Identity(3, decoder=models.build_decoder, reparameterize=reparameterize,
                 seed=0).sample(n=20000).numpy()
    assert z.shape == (20000, 3)
    assert np.all(np.abs(z.mean(0)) < 0.04) and np.all(np.abs(z.std(0) - 1) < 0.03)
    assert (z < 0).mean() == pytest.approx(0.5, abs=0.02)


def test_cvae_uses_a_given_decoder_model_or_builder():
    """``CVAE(decoder=...)`` trains and decodes with that decoder (the MNIST notebook's student decoder)."""
    own = models.build_decoder(3, (28, 28, 1), 8)
    model = models.CVAE(3, filters=16, seed=0, decoder=own, reparameterize=reparameterize)
    assert model.decoder is own
    decoder_weights = {id(v) for v in own.trainable_variables}
    assert decoder_weights <= {id(v) for v in model.trainable_variables}
    assert len(model.trainable_variables) == len(model.encoder.trainable_variables) + len(decoder_weights)
    z = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_allclose(model.decode(z), own(z), rtol=1e-6)
    built = []

    def builder(latent_dim, image_shape, filters):
        built.append((latent_dim, image_shape, filters))
        return models.build_decoder(latent_dim, image_shape, filters)

    models.CVAE(4, (32, 32, 3), 8, decoder=builder, reparameterize=reparameterize)
    assert built == [(4, (32, 32, 3), 8)]
