"""TensorFlow / Keras 3 reference implementations of the course.

Modules, each small and named for what it holds:

``sampling``      the reparameterization trick (function and ``Sampling`` layer)
``losses``        Gaussian log-densities, KL divergences, likelihoods and the ELBO losses
``models``        the convolutional ``CVAE``, the two-headed ``VAE`` and the builders of the
                  exercise sheet's fully connected and Conv2D/MaxPooling models
``training``      ``tf.data`` pipelines, the train step, its compiled form and ``fit``
``latent``        encodings, latent plots, coordinate tables, walks, generated images
``architecture``  layer tables, flow charts, parameters and multiply-adds per layer
``metrics``       evaluation of a trained VAE (bits per dimension, active units, ...)
``mmd``           kernels and the maximum mean discrepancy (MMD-VAE)

Functions that students write are marked ``# BEGIN FILL-IN`` / ``# END FILL-IN`` in these
modules, helpers that would answer a graded cell ``# BEGIN ANSWER`` / ``# END ANSWER``; no
other code of the package calls them (they are stripped in the student build). The hidden
tests' stand-ins are in :mod:`vaecourse.testkit` (grading only).
Where the package needs such a computation, it takes the function as an argument.

Importing this package imports TensorFlow (quietly) and nothing else heavy.
"""

from .. import config as _config

_config.quiet_tensorflow()

import tensorflow as tf  # noqa: E402,F401  (imported after quieting its log)
