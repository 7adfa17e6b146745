"""Tiny deterministic stand-ins for the hidden tests (Keras 3 / TensorFlow); grading only.

A grade cell must test one fill-in without depending on the others, nor on training.
:class:`LinearVAE` has the VAE interface of TensorFlow's CVAE tutorial (``encode``,
``reparameterize``, ``decode``, ``sample``) but a linear encoder, a linear decoder and a
*fixed* noise, and it exposes its weights as NumPy arrays, so that a test can compute the
expected value of a loss or of a latent walk with NumPy alone. :func:`stand_ins`
temporarily puts stand-ins into a notebook's namespace, so that a student's ``compute_loss``
is tested with a correct ``log_normal_pdf`` even if theirs is wrong. The stand-ins are the
test's own code or the fake's NumPy twin, never the package's fill-ins: those are stripped
in the student build of the package that grading may run against. This module is in the
graders' builds only (:mod:`vaecourse.testkit`): its NumPy twin reparameterizes, which is an
answer of the MNIST notebook. :func:`stand_ins` itself is :func:`vaecourse.checks.stand_ins`.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from ..checks import stand_ins  # noqa: F401 (the hidden tests use it from here too)


class LinearVAE:
    """A deterministic linear "VAE" with fixed noise, and its NumPy twin.

    * ``encode(x) = (x_flat @ w_mean + b_mean, x_flat @ w_logvar + b_logvar)``;
    * ``reparameterize(mean, logvar) = mean + exp(0.5 * logvar) * noise[:batch]``, the same
      noise rows every call (the ``noise`` array);
    * the encoder's biases put q(z|x) away from the prior (|mean| about 0.5 to 1.5, logvar
      about -2 to -0.5, narrower than the prior as in a trained VAE), so that the KL term is
      large enough for tests to tell its sign, its factor 1/2 and sum from mean apart;
    * ``decode(z) = reshape(z @ w_dec + b_dec)`` (logits), sigmoid with ``apply_sigmoid``;
    * ``sample(eps)`` decodes ``eps`` with ``apply_sigmoid=True``.

    Args:
        latent_dim: size of z.
        image_shape: shape of one image (H, W, C).
        seed: seeds the weights and the noise.
        at_prior: if True, the encoder returns mean 0 and logvar 0 for every input (q = p).
        max_batch: rows of fixed noise (the largest batch ``reparameterize`` accepts).
    """

    def __init__(self, latent_dim: int = 2, image_shape=(28, 28, 1), seed: int = 0,
                 at_prior: bool = False, max_batch: int = 1024) -> None:
        rng = np.random.default_rng(seed)
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(d) for d in image_shape)
        d = math.prod(self.image_shape)
        scale = 0.0 if at_prior else 1.0
        self.w_mean = (scale * rng.normal(0, 2 / math.sqrt(d), (d, latent_dim))).astype(np.float32)
        self.b_mean = (scale * rng.choice([-1.0, 1.0], latent_dim)
                       * rng.uniform(0.5, 1.5, latent_dim)).astype(np.float32)
        self.w_logvar = (scale * rng.normal(0, 1 / math.sqrt(d), (d, latent_dim))).astype(np.float32)
        self.b_logvar = (scale * rng.uniform(-2.0, -0.5, latent_dim)).astype(np.float32)
        self.w_dec = rng.normal(0, 0.5, (latent_dim, d)).astype(np.float32)
        self.b_dec = rng.normal(0, 0.5, d).astype(np.float32)
        self.noise = rng.standard_normal((max_batch, latent_dim)).astype(np.float32)

    # -- the TensorFlow interface ---------------------------------------------------------
    def _flat(self, x) -> tf.Tensor:
        x = tf.cast(tf.convert_to_tensor(x), tf.float32)
        return tf.reshape(x, (-1, self.w_mean.shape[0]))

    def encode(self, x) -> tuple[tf.Tensor, tf.Tensor]:
        """(mean, logvar), each (batch, latent_dim) float32."""
        h = self._flat(x)
        return h @ self.w_mean + self.b_mean, h @ self.w_logvar + self.b_logvar

    def reparameterize(self, mean, logvar) -> tf.Tensor:
        """mean + exp(0.5 * logvar) * noise[:batch] (fixed noise)."""
        mean = tf.cast(tf.convert_to_tensor(mean), tf.float32)
        eps = tf.constant(self.noise)[: tf.shape(mean)[0]]
        return mean + tf.exp(0.5 * tf.cast(logvar, tf.float32)) * eps

    def decode(self, z, apply_sigmoid: bool = False) -> tf.Tensor:
        """Logits (batch, *image_shape), or probabilities with ``apply_sigmoid``."""
        z = tf.cast(tf.convert_to_tensor(z), tf.float32)
        logits = tf.reshape(z @ self.w_dec + self.b_dec, (-1, *self.image_shape))
        return tf.sigmoid(logits) if apply_sigmoid else logits

    def sample(self, eps=None, n: int = 100) -> tf.Tensor:
        """Decode ``eps`` (default: the first ``n`` noise rows) to probabilities."""
        if eps is None:
            eps = self.noise[:n]
        return self.decode(eps, apply_sigmoid=True)

    def __call__(self, x) -> tf.Tensor:
        """Logits of the reconstruction of ``x``."""
        mean, logvar = self.encode(x)
        return self.decode(self.reparameterize(mean, logvar))

    # -- the NumPy twin (float64) -----------------------------------------------------------
    def np_encode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """NumPy (mean, logvar) of ``x``."""
        h = np.asarray(x, dtype=np.float64).reshape(-1, self.w_mean.shape[0])
        return h @ self.w_mean + self.b_mean, h @ self.w_logvar + self.b_logvar

    def np_noise(self, batch: int) -> np.ndarray:
        """The fixed noise rows ``reparameterize`` uses for a batch of ``batch``."""
        return self.noise[:batch].astype(np.float64)

    def np_reparameterize(self, mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
        """NumPy twin of :meth:`reparameterize`."""
        return mean + np.exp(0.5 * logvar) * self.np_noise(len(mean))

    def np_logits(self, z: np.ndarray) -> np.ndarray:
        """NumPy decoder logits, (batch, *image_shape)."""
        z = np.asarray(z, dtype=np.float64)
        return (z @ self.w_dec + self.b_dec).reshape(-1, *self.image_shape)

    def np_decode(self, z: np.ndarray) -> np.ndarray:
        """NumPy decoded pixel probabilities (sigmoid of the logits)."""
        return 1.0 / (1.0 + np.exp(-self.np_logits(z)))


def linear_vae_encodings(model: LinearVAE, images, batch_size: int = 256) -> np.ndarray:
    """Stand-in for ``get_allClass_encodings`` on a :class:`LinearVAE`: its posterior means.

    Computed with the fake's NumPy twin, so a test of ``plot_latent_space`` does not depend
    on the student's ``get_allClass_encodings`` (and works only for the fake).
    """
    if not isinstance(model, LinearVAE):
        raise TypeError("linear_vae_encodings works only for a fakes.LinearVAE")
    return model.np_encode(np.asarray(images))[0].astype(np.float32)


def random_binary_images(rng: np.random.Generator, n: int, image_shape=(28, 28, 1)) -> np.ndarray:
    """``n`` random binary float32 images (about a fifth of the pixels on, like MNIST)."""
    return (rng.random((n, *image_shape)) < 0.2).astype(np.float32)
