"""vaecourse: the shared helpers of the Variational Autoencoder course.

Import the framework parts explicitly, so that a notebook only pays for what it uses::

    from vaecourse import config, data, plots
    from vaecourse.tf import losses, models      # TensorFlow / Keras 3
    from vaecourse.torch import models           # PyTorch
"""

__version__ = "0.1.0"
