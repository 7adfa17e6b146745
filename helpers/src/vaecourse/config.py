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

Two more serve the full-scale check (``make fullscale``), which runs the *full* profile
on a CPU with only the number of training steps capped:

``VAECOURSE_MAX_STEPS``
    At most this many optimizer steps per training call (read by the training loops
    through :func:`max_steps`); unset, no cap.
``VAECOURSE_PAD_TO_FULL``
    ``1``: a local data copy smaller than the real dataset (the CIFAR-10 subset, the
    10,000 local CelebA faces) is padded, by repeating its images, to the real set's
    size (:func:`pad_to_full`), so that evaluation code meets the real memory load.

The grader sets one more in its kernels (with ``VAECOURSE_MAX_STEPS=1``):

``VAECOURSE_EAGER``
    ``1``: the TensorFlow training helpers run their steps eagerly instead of compiling
    them with ``tf.function`` (:func:`eager`): for one or two steps, tracing costs more than
    it saves. Students never set it; what they run in Colab is compiled.
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
MAX_STEPS_ENV = "VAECOURSE_MAX_STEPS"
PAD_ENV = "VAECOURSE_PAD_TO_FULL"
EAGER_ENV = "VAECOURSE_EAGER"
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


def seed_everything(seed: int = 0, deterministic: bool | None = None) -> None:
    """Seed Python, NumPy and, when they are imported, TensorFlow/Keras and PyTorch.

    Args:
        seed: the seed.
        deterministic: also switch TensorFlow to deterministic ops, so that seeded runs
            print the same numbers (nbval compares them). Default: only in the ``ci``
            (grading) profile; deterministic ops are slower on a GPU, and students in the
            full profile do not need bit-identical reruns.
    """
    import sys

    import numpy as np

    if deterministic is None:
        deterministic = get_profile().is_ci
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)


def max_steps() -> int | None:
    """The cap on optimizer steps per training call (``VAECOURSE_MAX_STEPS``), or None.

    Raises:
        ValueError: if the variable is set to anything but a positive integer.
    """
    value = os.environ.get(MAX_STEPS_ENV, "").strip()
    if not value:
        return None
    try:
        steps = int(value)
    except ValueError:
        steps = 0
    if steps < 1:
        raise ValueError(f"{MAX_STEPS_ENV}={value!r}: use a positive number of steps, or unset it.")
    return steps


def pad_to_full() -> bool:
    """True when ``VAECOURSE_PAD_TO_FULL=1``: pad small local data copies to the real size."""
    return os.environ.get(PAD_ENV, "").strip().lower() in ("1", "true", "yes")


def eager() -> bool:
    """True when ``VAECOURSE_EAGER=1``: training helpers skip ``tf.function`` (grading)."""
    return os.environ.get(EAGER_ENV, "").strip().lower() in ("1", "true", "yes")


def quiet_tensorflow() -> None:
    """Silence TensorFlow's start-up log lines (they differ between runs).

    Call before ``import tensorflow``; the notebooks' setup cell does.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def gpu_name() -> str | None:
    """The name of the first visible GPU, or None; imports no framework.

    Asks an already imported PyTorch or TensorFlow first, then the NVIDIA driver
    (``/proc/driver/nvidia/gpus``, then ``nvidia-smi -L``), so the answer is right before
    a notebook has imported its framework.
    """
    import subprocess
    import sys

    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return str(details.get("device_name") or gpus[0].name)
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("Model:"):
                return line.split(":", 1)[1].strip()
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.stdout.splitlines():
        if line.startswith("GPU 0:"):
            return line.split(":", 1)[1].split("(UUID")[0].strip()
    return None


def describe_runtime() -> str:
    """One line: the profile, whether this is Colab, and which accelerator is visible."""
    parts = [f"profile={get_profile().name}", f"colab={'yes' if in_colab() else 'no'}"]
    parts.append(f"gpu={gpu_name() or 'none'}")
    return ", ".join(parts)


def warn_if_no_gpu(gpu_minutes: float, cpu_minutes: float, what: str = "this notebook") -> bool:
    """Warn loudly when the full profile starts without a GPU; return True if it warned.

    Args:
        gpu_minutes: the measured (or projected) time of the full profile on a Colab GPU.
        cpu_minutes: the same on a 2-core CPU runtime.
        what: what takes that long, for the message.

    The grading profile never warns (it is sized for CPUs).
    """
    if get_profile().is_ci or gpu_name():
        return False
    bar = "!" * 78
    hours = cpu_minutes / 60
    cpu = f"about {cpu_minutes:.0f} minutes" if cpu_minutes < 120 else f"about {hours:.0f} hours"
    print(
        f"{bar}\nNO GPU: {what} takes about {gpu_minutes:.0f} minutes on a Colab GPU but {cpu} "
        "on this CPU runtime.\nIn Colab: Runtime > Change runtime type > a GPU (e.g. T4), then "
        f"run the notebook again from the top.\n{bar}"
    )
    return True
