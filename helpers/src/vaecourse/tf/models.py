"""The course's VAEs in Keras 3: the convolutional ``CVAE`` and the generic two-headed ``VAE``.

Both share one interface (TensorFlow's CVAE tutorial):

* ``encode(x) -> (mean, logvar)`` of q(z|x), each (batch, latent_dim);
* ``reparameterize(mean, logvar) -> z`` (seeded by the model's ``SeedGenerator``);
* ``decode(z, apply_sigmoid=False)`` -> logits of p(x|z) (probabilities if ``apply_sigmoid``);
* ``sample(eps=None, n=100)`` -> decoded probabilities of prior samples;
* ``call(x)`` -> logits of the reconstruction of ``x``.

The pieces that students write (the decoders, the encoders of the exercise sheet's models,
the generator and the reparameterization) are *arguments* of these classes, never defaults:
a notebook passes its student's own functions, a later notebook passes this package's
explicitly (``decoder=models.build_decoder, reparameterize=sampling.reparameterize``), so
the classes work unchanged in the student build of the package, where the bodies between
``# BEGIN FILL-IN`` and ``# END FILL-IN`` are removed.

Images are NHWC float32 in [0, 1]; for the convolutional models height and width must be
divisible by 4.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers, ops

Shape = tuple[int, int, int]
ReparameterizeFn = Callable  # reparameterize(mean, logvar, seed=None) -> z
DecoderBuilder = Callable  # build(latent_dim, image_shape, filters) -> keras.Model


def _check_image_shape(image_shape) -> Shape:
    shape = tuple(int(d) for d in image_shape)
    if len(shape) != 3 or shape[0] % 4 or shape[1] % 4:
        raise ValueError(
            f"image_shape={image_shape!r}: expected (height, width, channels) with height "
            "and width divisible by 4, e.g. (28, 28, 1) or (32, 32, 3)."
        )
    return shape  # type: ignore[return-value]


def build_encoder(latent_dim: int, image_shape=(28, 28, 1), filters: int = 32,
                  outputs: int | None = None) -> keras.Sequential:
    """The encoder of TensorFlow's CVAE tutorial: two stride-2 convolutions, then a Dense layer.

    The convolutions have ``filters`` and ``2 * filters`` filters; the Dense layer has
    ``outputs`` units (default ``2 * latent_dim``: the mean and the log-variance of q(z|x)).
    """
    shape = _check_image_shape(image_shape)
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Conv2D(filters, 3, strides=2, activation="relu"),
            layers.Conv2D(2 * filters, 3, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(outputs or 2 * latent_dim),
        ],
        name="encoder",
    )


def build_decoder(latent_dim: int, image_shape=(28, 28, 1), filters: int = 32) -> keras.Sequential:
    """The decoder of TensorFlow's CVAE tutorial, from z (batch, latent_dim) to logits (batch, H, W, C).

    A Dense layer and transposed convolutions (``2 * filters`` and ``filters`` hidden channels),
    as exercise 2.1 of the MNIST notebook lists them; the output is logits of p(x|z).
    """
    height, width, channels = _check_image_shape(image_shape)
    # BEGIN FILL-IN build_decoder
    h, w = height // 4, width // 4
    return keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(h * w * filters, activation="relu"),
            layers.Reshape((h, w, filters)),
            layers.Conv2DTranspose(2 * filters, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(channels, 3, strides=1, padding="same"),
        ],
        name="decoder",
    )
    # END FILL-IN build_decoder


# ---- the exercise sheet's models (functional API, two encoder heads) ----------------------
def build_dense_encoder(latent_dim: int = 2, image_shape=(28, 28, 1),
                        intermediate_dim: int = 256) -> keras.Model:
    """The exercise sheet's fully connected encoder, with the functional API.

    One hidden layer of ``intermediate_dim`` units and two heads, ``z_mean`` and
    ``z_log_var`` (the MNIST notebook's exercise 9.1).

    Returns:
        a ``keras.Model`` named ``"encoder"`` with the outputs ``[z_mean, z_log_var]``.
    """
    # BEGIN FILL-IN build_dense_encoder
    x = keras.Input(shape=image_shape)
    h = layers.Flatten()(x)
    h = layers.Dense(intermediate_dim, activation="relu")(h)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    return keras.Model(x, [z_mean, z_log_var], name="encoder")
    # END FILL-IN build_dense_encoder


def build_dense_decoder(latent_dim: int = 2, image_shape=(28, 28, 1),
                        intermediate_dim: int = 256) -> keras.Model:
    """The exercise sheet's fully connected decoder, with the functional API.

    One hidden layer of ``intermediate_dim`` units; the output is logits of p(x|z) (the
    sheet's sigmoid comes with ``decode(z, apply_sigmoid=True)`` and the generator; the MNIST
    notebook's exercise 9.2).

    Returns:
        a ``keras.Model`` named ``"decoder"``, (batch, latent_dim) -> (batch, *image_shape).
    """
    # BEGIN FILL-IN build_dense_decoder
    height, width, channels = image_shape
    z = keras.Input(shape=(latent_dim,))
    h = layers.Dense(intermediate_dim, activation="relu")(z)
    h = layers.Dense(height * width * channels)(h)
    logits = layers.Reshape(tuple(image_shape))(h)
    return keras.Model(z, logits, name="decoder")
    # END FILL-IN build_dense_decoder


def fix_variance(encoder: keras.Model) -> keras.Model:
    """The same encoder with its variance fixed to 1 (the MNIST notebook's exercise 10.1).

    The new model shares ``encoder``'s layers and computes the same ``z_mean``; its second
    output, the log-variance, is 0 for every input.
    """
    # BEGIN FILL-IN fix_variance
    z_mean, _ = encoder.outputs
    z_log_var = ops.zeros_like(z_mean)
    return keras.Model(encoder.input, [z_mean, z_log_var], name="encoder_fixed_variance")
    # END FILL-IN fix_variance


def build_generator(decoder: keras.Model) -> keras.Model:
    """The exercise sheet's generator: a model from latent points to pixel probabilities.

    It shares the weights of the (trained) ``decoder``, so
    ``build_generator(decoder).predict(np.array([[0.5, 0.2]]))`` is a generated image.
    """
    # BEGIN FILL-IN build_generator
    z = keras.Input(shape=decoder.input_shape[1:])
    probabilities = layers.Activation("sigmoid")(decoder(z))
    return keras.Model(z, probabilities, name="generator")
    # END FILL-IN build_generator


def build_pooling_encoder(latent_dim: int = 2, image_shape=(28, 28, 1),
                          intermediate_dim: int = 16) -> keras.Model:
    """The exercise sheet's Conv2D/MaxPooling encoder, with the functional API.

    Two convolutions with max pooling, a hidden layer of ``intermediate_dim`` units and the
    heads ``z_mean`` and ``z_log_var`` (the MNIST notebook's exercise 11.1).

    Returns:
        a ``keras.Model`` named ``"encoder"`` with the outputs ``[z_mean, z_log_var]``.
    """
    # BEGIN FILL-IN build_pooling_encoder
    x = keras.Input(shape=image_shape)
    h = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
    h = layers.MaxPooling2D(2, padding="same")(h)
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
    h = layers.MaxPooling2D(2, padding="same")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(intermediate_dim, activation="relu")(h)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    return keras.Model(x, [z_mean, z_log_var], name="encoder")
    # END FILL-IN build_pooling_encoder


def build_pooling_decoder(latent_dim: int = 2, image_shape=(28, 28, 1),
                          intermediate_dim: int = 16) -> keras.Model:
    """The exercise sheet's Conv2D/UpSampling decoder, with the functional API.

    Two Dense layers, convolutions with upsampling, and logits of p(x|z) at the size of the
    images (the MNIST notebook's exercise 11.2 lists the layers).

    Returns:
        a ``keras.Model`` named ``"decoder"``, (batch, latent_dim) -> (batch, *image_shape).
    """
    # BEGIN FILL-IN build_pooling_decoder
    height, width, channels = image_shape
    rows, cols = height // 4 + 1, width // 4 + 1  # (rows * 2 - 2) * 2 = height
    z = keras.Input(shape=(latent_dim,))
    h = layers.Dense(intermediate_dim, activation="relu")(z)
    h = layers.Dense(rows * cols * 8, activation="relu")(h)
    h = layers.Reshape((rows, cols, 8))(h)
    h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
    h = layers.UpSampling2D(2)(h)
    h = layers.Conv2D(16, 3, activation="relu")(h)
    h = layers.UpSampling2D(2)(h)
    logits = layers.Conv2D(channels, 3, padding="same")(h)
    return keras.Model(z, logits, name="decoder")
    # END FILL-IN build_pooling_decoder


# ---- the model classes ------------------------------------------------------------------------
_MISSING_REPARAMETERIZE = (
    "{cls} needs reparameterize=: a function reparameterize(mean, logvar, seed=None) -> z, "
    "e.g. your own from the MNIST notebook's part 3, or vaecourse.tf.sampling.reparameterize "
    "in a later notebook."
)
_MISSING_DECODER = (
    "CVAE needs decoder=: a Keras model from z to logits, or a function build(latent_dim, "
    "image_shape, filters) that makes one, e.g. your own build_decoder from the MNIST notebook, "
    "or vaecourse.tf.models.build_decoder in a later notebook."
)


class _VAEBase(keras.Model):
    """Shared methods; subclasses set ``encoder``, ``decoder`` and ``latent_dim``."""

    latent_dim: int
    fixed_variance: bool = False

    def _init_common(self, latent_dim: int, image_shape, seed: int | None,
                     reparameterize: ReparameterizeFn | None) -> None:
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        if not callable(reparameterize):
            raise TypeError(_MISSING_REPARAMETERIZE.format(cls=type(self).__name__))
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.reparameterize_fn = reparameterize

    def encode(self, x):
        """(mean, logvar) of q(z|x), each (batch, latent_dim); logvar = 0 with fixed variance."""
        h = self.encoder(x)
        if self.fixed_variance:
            return h, ops.zeros_like(h)
        mean, logvar = ops.split(h, 2, axis=-1)
        return mean, logvar

    def reparameterize(self, mean, logvar):
        """A sample z of q(z|x) = N(mean, exp(logvar)), drawn by the given function with the model's seed."""
        return self.reparameterize_fn(mean, logvar, seed=self.seed_generator)

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


class CVAE(_VAEBase):
    """Convolutional VAE of TensorFlow's CVAE tutorial, for any (H, W, C) with H, W divisible by 4.

    Args:
        latent_dim: size of z.
        image_shape: (28, 28, 1) for MNIST, (32, 32, 3) for CIFAR-10.
        filters: channels of the first conv layer (the second has ``2 * filters``); the
            decoder gets the same number.
        decoder: the decoder, a Keras model from (batch, latent_dim) to logits
            (batch, *image_shape), or a function ``build(latent_dim, image_shape, filters)``
            that makes one (the MNIST notebook passes its student's ``build_decoder``,
            later notebooks :func:`build_decoder`).
        reparameterize: ``reparameterize(mean, logvar, seed=None) -> z`` (the MNIST notebook's
            own, or :func:`vaecourse.tf.sampling.reparameterize`); called with the model's
            ``SeedGenerator``.
        fixed_variance: encoder outputs only the mean; logvar is fixed to 0.
        seed: seeds the model's noise (weights are seeded by ``config.seed_everything``).
        width: another name for ``filters`` (the CIFAR-10 and MMD notebooks use it).

    Raises:
        TypeError: without ``decoder`` or ``reparameterize`` (the message says what to pass).
    """

    def __init__(self, latent_dim: int, image_shape=(28, 28, 1), filters: int = 32, *,
                 decoder: keras.Model | DecoderBuilder | None = None,
                 reparameterize: ReparameterizeFn | None = None,
                 fixed_variance: bool = False, seed: int | None = None,
                 width: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        shape = _check_image_shape(image_shape)
        self._init_common(latent_dim, shape, seed, reparameterize)
        self.filters = int(filters if width is None else width)
        self.fixed_variance = bool(fixed_variance)
        self.encoder = build_encoder(
            self.latent_dim, shape, self.filters,
            outputs=self.latent_dim if self.fixed_variance else None,
        )
        if decoder is None:
            raise TypeError(_MISSING_DECODER)
        if not isinstance(decoder, keras.layers.Layer):
            decoder = decoder(self.latent_dim, shape, self.filters)
        self.decoder = decoder
        self.built = True  # the encoder and decoder are built with their inputs


class VAE(_VAEBase):
    """A VAE from a two-headed encoder and a decoder, as the exercise sheet builds them.

    Args:
        encoder: a Keras model from images (batch, *image_shape) to the two outputs
            ``[z_mean, z_log_var]``, each (batch, latent_dim) (functional API).
        decoder: a Keras model from z (batch, latent_dim) to logits (batch, *image_shape).
        reparameterize: ``reparameterize(mean, logvar, seed=None) -> z``, called with the
            model's ``SeedGenerator``.
        seed: seeds the model's noise.

    Raises:
        ValueError: if the encoder does not have two outputs of the same size.
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, *,
                 reparameterize: ReparameterizeFn | None = None, seed: int | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        outputs = getattr(encoder, "outputs", None) or []
        if len(outputs) != 2 or tuple(outputs[0].shape) != tuple(outputs[1].shape):
            shapes = [tuple(o.shape) for o in outputs]
            raise ValueError(
                f"VAE: the encoder must output [z_mean, z_log_var], two tensors of shape "
                f"(batch, latent_dim); it outputs {shapes or 'nothing known'}. Build it with the "
                "functional API: keras.Model(x, [z_mean, z_log_var])."
            )
        self._init_common(int(outputs[0].shape[-1]), encoder.inputs[0].shape[1:], seed,
                          reparameterize)
        self.encoder = encoder
        self.decoder = decoder
        self.built = True

    def encode(self, x):
        """(z_mean, z_log_var) from the encoder's two heads."""
        z_mean, z_log_var = self.encoder(x)
        return z_mean, z_log_var
