"""Run profiles, the local data directory and seeding.

Two environment variables steer every notebook, test and benchmark:

``VAECOURSE_PROFILE``
    ``full`` (the default, what students get in Colab: full datasets and the epochs
    the assignment asks for) or ``ci`` (continuous integration and autograding: a
    subset of the data and a few steps, so a notebook runs in seconds on 2 CPU cores).
``VAECOURSE_DATA``
    A folder holding local copies of the datasets (``mnist.npz``,
    ``cifar10_subset.npz``, ``celeba_subset.tar``). Unset, the loaders use the same
    download path as the original assignments (``tf.keras.datasets``, the CelebA
    archive).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

PROFILE_ENV = "VAECOURSE_PROFILE"
DATA_ENV = "VAECOURSE_DATA"
CACHE_ENV = "VAECOURSE_CACHE"
PROFILES = ("full", "ci")

T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """The active run profile.

    Notebooks read their sizes through :meth:`pick`, so that one cell states both::

        EPOCHS = PROFILE.pick(full=10, ci=2)
    """

    name: str

    @property
    def is_ci(self) -> bool:
        """True in the small CI/grading profile."""
        return self.name == "ci"

    def pick(self, *, full: T, ci: T) -> T:
        """Return ``full`` in the full profile and ``ci`` in the CI/grading profile."""
        return ci if self.is_ci else full


def get_profile() -> Profile:
    """Read the profile from ``VAECOURSE_PROFILE`` (default ``full``).

    Raises:
        ValueError: if the variable holds anything but ``full`` or ``ci``.
    """
    name = os.environ.get(PROFILE_ENV, "full").strip().lower() or "full"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={name!r} is not a profile; use one of {', '.join(PROFILES)}."
        )
    return Profile(name)


def data_dir() -> Path | None:
    """The local data folder named by ``VAECOURSE_DATA``, or None when unset.

    Raises:
        FileNotFoundError: if the variable is set but the folder does not exist.
    """
    value = os.environ.get(DATA_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{DATA_ENV}={value!r} is not a folder. Point it at the folder holding "
            "mnist.npz, cifar10_subset.npz and celeba_subset.tar, or unset it to "
            "download the datasets."
        )
    return path


def cache_dir() -> Path:
    """A writable folder for extracted or downloaded data (``VAECOURSE_CACHE``)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "vaecourse"
    path.mkdir(parents=True, exist_ok=True)
    return path


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    import sys

    return "google.colab" in sys.modules


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and, when they are imported, TensorFlow/Keras and PyTorch.

    TensorFlow is also switched to deterministic ops, so that seeded runs print the
    same numbers (nbval compares them).
    """
    import sys

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)


def quiet_tensorflow() -> None:
    """Silence TensorFlow's start-up log lines (they differ between runs).

    Call before ``import tensorflow``; the notebooks' setup cell does.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def describe_runtime() -> str:
    """One line: the profile, whether this is Colab, and which accelerator is visible."""
    import sys

    parts = [f"profile={get_profile().name}", f"colab={'yes' if in_colab() else 'no'}"]
    gpu = "none"
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    elif "tensorflow" in sys.modules:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            gpu = gpus[0].name
    parts.append(f"gpu={gpu}")
    return ", ".join(parts)
