"""Shared pytest set-up: quiet TensorFlow, a headless matplotlib, closed figures.

The environment variables must be set before anything imports TensorFlow or pyplot,
which is why they are set here at import time rather than in a fixture.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("VAECOURSE_PROFILE", "ci")

# Headless plots for this process only: an MPLBACKEND variable would be inherited by the
# notebook kernels that nbval starts in the same session and hide their inline figures.
import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened (only if pyplot was imported)."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def rng():
    """A seeded NumPy generator (tests are reproducible)."""
    import numpy as np

    return np.random.default_rng(20240601)


@pytest.fixture
def keras_seed():
    """Seed Keras/TensorFlow (and NumPy) for weight initialization."""
    import keras

    keras.utils.set_random_seed(0)
    return 0
