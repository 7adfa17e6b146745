"""The course's VAEs in Keras 3: ``CVAE`` (convolutional), ``DenseVAE``, ``PoolingVAE``.

All three share one interface (TensorFlow's CVAE tutorial):

* ``encode(x) -> (mean, logvar)`` of q(z|x), each (batch, latent_dim);
* ``reparameterize(mean, logvar) -> z`` (seeded by the model's ``SeedGenerator``);
* ``decode(z, apply_sigmoid=False)`` -> logits of p(x|z) (probabilities if ``apply_sigmoid``);
* ``sample(eps=None, n=100)`` -> decoded probabilities of prior samples;
* ``call(x)`` -> logits of the reconstruction of ``x``.

Images are NHWC float32 in [0, 1]; height and width must be divisible by 4.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from .sampling import reparameterize as _reparameterize

Shape = tuple[int, int, int]


def _check_image_shape(image_shape) -> Shape:
    shape = tuple(int(d) for d in image_shape)
    if len(shape) != 3 or shape[0] % 4 or shape[1] % 4:
        raise ValueError(
            f"image_shape={image_shape!r}: expected (height, width, channels) with height "
            "and width divisible by 4, e.g. (28, 28, 1) or (32, 32, 3)."
        )
    return shape  # type: ignore[return-value]


def build_encoder(latent_dim: int, image_shape=(28, 28, 1), width: int = 32,
                  outputs: int | None = None) -> keras.Sequential:
    """The conv encoder: Conv2D(width, 3, s2) -> Conv2D(2*width, 3, s2) -> Flatten -> Dense.

    The last Dense has ``outputs`` units (default ``2 * latent_dim``: mean and log-variance).
    """
    shape = _check_image_shape(image_shape)
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Conv2D(width, 3, strides=2, activation="relu"),
            layers.Conv2D(2 * width, 3, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(outputs or 2 * latent_dim),
        ],
        name="encoder",
    )


def build_decoder(latent_dim: int, image_shape=(28, 28, 1), width: int = 32) -> keras.Sequential:
    """The conv decoder, from z (batch, latent_dim) to logits (batch, *image_shape).

    Dense(h/4 * w/4 * width, relu) -> Reshape((h/4, w/4, width)) ->
    Conv2DTranspose(2*width, 3, s2, same, relu) -> Conv2DTranspose(width, 3, s2, same, relu)
    -> Conv2DTranspose(channels, 3, s1, same) (logits, no activation).
    """
    height, width_px, channels = _check_image_shape(image_shape)
    # BEGIN FILL-IN build_decoder
    h, w = height // 4, width_px // 4
    return keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(h * w * width, activation="relu"),
            layers.Reshape((h, w, width)),
            layers.Conv2DTranspose(2 * width, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(channels, 3, strides=1, padding="same"),
        ],
        name="decoder",
    )
    # END FILL-IN build_decoder


class _VAEBase(keras.Model):
    """Shared methods; subclasses set ``encoder``, ``decoder`` and ``latent_dim``."""

    latent_dim: int
    fixed_variance: bool = False

    def _init_common(self, latent_dim: int, image_shape, seed: int | None) -> None:
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def encode(self, x):
        """(mean, logvar) of q(z|x), each (batch, latent_dim); logvar = 0 with fixed variance."""
        h = self.encoder(x)
        if self.fixed_variance:
            return h, ops.zeros_like(h)
        mean, logvar = ops.split(h, 2, axis=-1)
        return mean, logvar

    def reparameterize(self, mean, logvar):
        """z = mean + exp(0.5 * logvar) * eps with the model's seeded noise."""
        return _reparameterize(mean, logvar, seed=self.seed_generator)

    def decode(self, z, apply_sigmoid: bool = False):
        """Logits of p(x|z), or pixel probabilities with ``apply_sigmoid=True``."""
        logits = self.decoder(z)
        return ops.sigmoid(logits) if apply_sigmoid else logits

    def sample(self, eps=None, n: int = 100):
        """Decode prior samples (``eps`` of shape (n, latent_dim), drawn if None) to probabilities."""
        if eps is None:
            eps = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        return self.decode(eps, apply_sigmoid=True)

    def call(self, x, training=None):
        """Logits of the reconstruction of ``x`` (one reparameterized z per image)."""
        mean, logvar = self.encode(x)
        return self.decode(self.reparameterize(mean, logvar))

    def get_config(self) -> dict:
        """Constructor arguments (for ``keras.models.clone_model`` and saving)."""
        return {"latent_dim": self.latent_dim, "image_shape": self.image_shape, "seed": self.seed}


class CVAE(_VAEBase):
    """Convolutional VAE of TensorFlow's CVAE tutorial, for any (h, w, c) with h, w divisible by 4.

    Args:
        latent_dim: size of z.
        image_shape: (28, 28, 1) for MNIST, (32, 32, 3) for CIFAR-10.
        width: channels of the first conv layer (the second has ``2 * width``).
        fixed_variance: encoder outputs only the mean; logvar is fixed to 0.
        seed: seeds the model's noise (weights are seeded by ``config.seed_everything``).
        decoder: a decoder to use instead of :func:`build_decoder`'s (e.g. a student's own);
            it must map (batch, latent_dim) to logits of shape (batch, *image_shape).
    """

    def __init__(self, latent_dim: int, image_shape=(28, 28, 1), width: int = 32,
                 fixed_variance: bool = False, seed: int | None = None,
                 decoder: keras.Model | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._init_common(latent_dim, _check_image_shape(image_shape), seed)
        self.width = int(width)
        self.fixed_variance = bool(fixed_variance)
        self.encoder = build_encoder(
            self.latent_dim, image_shape, self.width,
            outputs=self.latent_dim if self.fixed_variance else None,
        )
        self.decoder = decoder if decoder is not None else build_decoder(
            self.latent_dim, image_shape, self.width)
        self.built = True  # the encoder and decoder are built with their inputs

    def get_config(self) -> dict:
        """Constructor arguments."""
        return {**super().get_config(), "width": self.width, "fixed_variance": self.fixed_variance}


class DenseVAE(_VAEBase):
    """Fully connected VAE: Flatten -> Dense(hidden...) -> (mean, logvar); mirrored decoder.

    Args:
        latent_dim: size of z.
        image_shape: the image shape (any).
        hidden: sizes of the hidden layers of the encoder (the decoder reverses them).
        fixed_variance: encoder outputs only the mean; logvar is fixed to 0.
        seed: seeds the model's noise.
    """

    def __init__(self, latent_dim: int, image_shape=(28, 28, 1), hidden=(512, 256),
                 fixed_variance: bool = False, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        shape = tuple(int(d) for d in image_shape)
        self._init_common(latent_dim, shape, seed)
        self.hidden = tuple(int(h) for h in hidden)
        self.fixed_variance = bool(fixed_variance)
        out = self.latent_dim if self.fixed_variance else 2 * self.latent_dim
        self.encoder = keras.Sequential(
            [keras.Input(shape=shape), layers.Flatten()]
            + [layers.Dense(h, activation="relu") for h in self.hidden]
            + [layers.Dense(out)],
            name="encoder",
        )
        self.decoder = keras.Sequential(
            [keras.Input(shape=(self.latent_dim,))]
            + [layers.Dense(h, activation="relu") for h in reversed(self.hidden)]
            + [layers.Dense(math.prod(shape)), layers.Reshape(shape)],
            name="decoder",
        )
        self.built = True

    def get_config(self) -> dict:
        """Constructor arguments."""
        return {**super().get_config(), "hidden": self.hidden, "fixed_variance": self.fixed_variance}


class PoolingVAE(_VAEBase):
    """The exercise sheet's Conv2D / MaxPooling VAE.

    Encoder: Conv2D(16, 3, relu, same) -> MaxPool(2) -> Conv2D(8, 3, relu, same) -> MaxPool(2)
    -> Flatten -> Dense(intermediate_dim, relu) -> two Dense heads z_mean and z_log_var.
    Decoder: Dense(intermediate_dim, relu) -> Dense(h/4 * w/4 * 8, relu) -> Reshape ->
    Conv2D(8, 3, relu, same) -> UpSampling(2) -> Conv2D(16, 3, relu, same) -> UpSampling(2)
    -> Conv2D(channels, 3, same) (logits; the sheet's sigmoid is ``decode(apply_sigmoid=True)``).
    ``encoder`` is a functional model with the two outputs ``[z_mean, z_log_var]``.
    """

    def __init__(self, latent_dim: int, image_shape=(28, 28, 1), intermediate_dim: int = 16,
                 seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        height, width, channels = _check_image_shape(image_shape)
        self._init_common(latent_dim, (height, width, channels), seed)
        self.intermediate_dim = int(intermediate_dim)
        inputs = keras.Input(shape=(height, width, channels))
        h = layers.Conv2D(16, 3, activation="relu", padding="same")(inputs)
        h = layers.MaxPooling2D(2)(h)
        h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
        h = layers.MaxPooling2D(2)(h)
        h = layers.Flatten()(h)
        h = layers.Dense(self.intermediate_dim, activation="relu")(h)
        z_mean = layers.Dense(self.latent_dim, name="z_mean")(h)
        z_log_var = layers.Dense(self.latent_dim, name="z_log_var")(h)
        self.encoder = keras.Model(inputs, [z_mean, z_log_var], name="encoder")
        self.decoder = keras.Sequential(
            [
                keras.Input(shape=(self.latent_dim,)),
                layers.Dense(self.intermediate_dim, activation="relu"),
                layers.Dense(height // 4 * width // 4 * 8, activation="relu"),
                layers.Reshape((height // 4, width // 4, 8)),
                layers.Conv2D(8, 3, activation="relu", padding="same"),
                layers.UpSampling2D(2),
                layers.Conv2D(16, 3, activation="relu", padding="same"),
                layers.UpSampling2D(2),
                layers.Conv2D(channels, 3, padding="same"),
            ],
            name="decoder",
        )
        self.built = True

    def encode(self, x):
        """(z_mean, z_log_var) from the two encoder heads."""
        z_mean, z_log_var = self.encoder(x)
        return z_mean, z_log_var

    def get_config(self) -> dict:
        """Constructor arguments."""
        return {**super().get_config(), "intermediate_dim": self.intermediate_dim}
