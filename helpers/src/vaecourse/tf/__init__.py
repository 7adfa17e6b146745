"""TensorFlow / Keras 3 reference implementations of the course.

Modules, each small and named for what it holds:

``sampling``   the reparameterization trick (function and ``Sampling`` layer)
``losses``     Gaussian log-densities, KL divergences, likelihoods and the ELBO losses
``models``     the convolutional ``CVAE``, the fully connected ``DenseVAE`` and the
               exercise sheet's ``PoolingVAE``
``mmd``        kernels and the maximum mean discrepancy (MMD-VAE)
``training``   ``tf.data`` pipelines, a compiled train step and ``fit``
``demo``       ``python -m vaecourse.tf.demo --out DIR``: the main job

Importing this package imports TensorFlow (quietly) and nothing else heavy.
"""

from .. import config as _config

_config.quiet_tensorflow()

import tensorflow as tf  # noqa: E402,F401  (imported after quieting its log)
