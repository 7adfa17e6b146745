"""Reparameterized samples of a diagonal Gaussian q(z|x) = N(mean, exp(logvar)).

The MNIST notebook's exercises 3.3 and 3.4: :func:`reparameterize` and the Keras layer
:class:`Sampling` (their bodies are fill-ins, absent from the students' build while that
assignment is open).
"""

from __future__ import annotations

import keras
from keras import ops

SeedLike = int | keras.random.SeedGenerator | None


def reparameterize(mean, logvar, seed: SeedLike = None):
    """A sample z ~ N(mean, exp(logvar)) through which gradients reach ``mean`` and ``logvar``.

    Args:
        mean: tensor of shape (batch, dim).
        logvar: log-variance, same shape as ``mean`` (or broadcastable to it).
        seed: an int (same noise every call), a ``keras.random.SeedGenerator``
            (fresh noise every call, reproducible) or None (Keras' global generator).

    Returns:
        z with the dynamic shape of ``mean``; works in graph mode with an unknown batch size.
    """
    # BEGIN FILL-IN reparameterize
    mean = ops.convert_to_tensor(mean)
    eps = keras.random.normal(shape=ops.shape(mean), dtype=mean.dtype, seed=seed)
    return mean + ops.exp(0.5 * logvar) * eps
    # END FILL-IN reparameterize


class Sampling(keras.layers.Layer):
    """Keras layer: ``Sampling()((z_mean, z_log_var))`` returns a reparameterized z.

    Seeded with its own ``keras.random.SeedGenerator``, so two layers built with the
    same seed draw the same sequence of noise, and successive calls draw fresh noise.
    """

    def __init__(self, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        """A reparameterized sample z ~ N(z_mean, exp(z_log_var)) for ``inputs = (z_mean, z_log_var)``."""
        # BEGIN FILL-IN mnist_vae/sampling_call
        z_mean, z_log_var = inputs
        z_mean = ops.convert_to_tensor(z_mean)
        eps = keras.random.normal(
            shape=ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator
        )
        return z_mean + ops.exp(0.5 * z_log_var) * eps
        # END FILL-IN mnist_vae/sampling_call

    def compute_output_shape(self, input_shape):
        """The shape of z: that of ``z_mean``."""
        return input_shape[0]

    def get_config(self) -> dict:
        """Serializable configuration (the seed)."""
        return {**super().get_config(), "seed": self.seed}
