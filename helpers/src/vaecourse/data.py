"""MNIST and CIFAR-10: the loaders the notebooks use, and their preprocessing.

Where the data comes from, in this order:

1. ``VAECOURSE_DATA`` is set: read ``mnist.npz`` / ``cifar10_subset.npz`` from it
   (a missing file is an error that names the variable and the expected files). With
   ``VAECOURSE_PAD_TO_FULL=1`` a local copy smaller than the real dataset (the CIFAR-10
   subset) is padded to the real sizes by repeating its images, for the full-scale check.
2. Otherwise: the students' path in Colab, ``tf.keras.datasets.<name>.load_data()``
   (the full datasets at their original sizes).
3. Neither works (a fresh machine with no network): in the ``ci`` profile only, a
   small synthetic dataset, announced loudly; in the ``full`` profile, an error.

The arrays come back exactly as Keras returns them: ``uint8`` images
(``(N, 28, 28)`` for MNIST, ``(N, 32, 32, 3)`` for CIFAR-10) and integer labels.
"""

from __future__ import annotations

import math
import sys
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import config

Split = tuple[np.ndarray, np.ndarray]

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


class DataNotFoundError(FileNotFoundError):
    """A dataset is neither in ``VAECOURSE_DATA`` nor downloadable."""


@dataclass(frozen=True)
class _Source:
    name: str
    filename: str
    image_shape: tuple[int, ...]
    keras_name: str
    full_sizes: tuple[int, int]  # training and test images of the real dataset


_MNIST = _Source("MNIST", "mnist.npz", (28, 28), "mnist", (60_000, 10_000))
_CIFAR10 = _Source("CIFAR-10", "cifar10_subset.npz", (32, 32, 3), "cifar10", (50_000, 10_000))


def _expected_files_message(source: _Source) -> str:
    return (
        f"Set {config.DATA_ENV} to a folder holding {source.filename} (keys x_train, "
        "y_train, x_test, y_test, as Keras returns them), or run with network access "
        f"so that tf.keras.datasets.{source.keras_name}.load_data() can download it."
    )


def _from_npz(source: _Source, max_train: int | None = None,
              max_test: int | None = None) -> tuple[Split, Split]:
    """The four arrays of ``source``'s file in ``VAECOURSE_DATA``; with ``max_train`` /
    ``max_test``, only their first rows are read and decompressed where the file allows (1,000
    of MNIST's 60,000 training images: 0.02 CPU-s instead of 0.3); :func:`_load` cuts."""
    folder = config.data_dir()
    assert folder is not None
    path = folder / source.filename
    if not path.is_file():
        raise DataNotFoundError(
            f"{source.name}: {path} does not exist. " + _expected_files_message(source)
        )
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise DataNotFoundError(
            f"{source.name}: {path} is not an .npz archive ({error}). " + _expected_files_message(source)
        ) from error
    with archive:
        names = {n.removesuffix(".npy") for n in archive.namelist()}
        missing = {"x_train", "y_train", "x_test", "y_test"} - names
        if missing:
            raise DataNotFoundError(f"{path} lacks the arrays {sorted(missing)}.")
        return ((_read_rows(archive, "x_train", max_train), _read_rows(archive, "y_train", max_train)),
                (_read_rows(archive, "x_test", max_test), _read_rows(archive, "y_test", max_test)))


def _read_rows(archive: zipfile.ZipFile, name: str, limit: int | None) -> np.ndarray:
    """The array ``name`` of an ``.npz`` archive, read no further into its (compressed) member
    than its first ``limit`` rows need; the whole array when None, negative, or not stored
    row by row (the caller cuts it then)."""
    with archive.open(f"{name}.npy") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f)
        if limit is None or limit < 0 or fortran_order or dtype.hasobject or not shape:
            f.seek(0)
            return np.lib.format.read_array(f)  # the caller cuts (_head)
        rows = min(limit, shape[0])
        count = rows * math.prod(shape[1:])
        buffer = bytearray(count * dtype.itemsize)
        if f.readinto(buffer) != len(buffer):
            raise DataNotFoundError(f"{archive.filename}: {name} is shorter than its header says.")
        return np.frombuffer(buffer, dtype=dtype, count=count).reshape((rows, *shape[1:]))


def _from_keras(source: _Source) -> tuple[Split, Split]:
    import tensorflow as tf

    loader: Callable[[], tuple[Split, Split]] = getattr(
        tf.keras.datasets, source.keras_name
    ).load_data
    return loader()


def synthetic_images(
    n: int, image_shape: tuple[int, ...], num_classes: int = 10, seed: int = 0
) -> Split:
    """Class-dependent blob images, uint8, for machines with no data at all.

    Each class is a bright Gaussian blob at its own position on a dark background,
    so that a VAE still has structure to learn and plots still show classes.
    """
    rng = np.random.default_rng(seed)
    height, width = image_shape[:2]
    labels = rng.integers(0, num_classes, size=n).astype(np.uint8)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = 2 * np.pi * labels / num_classes
    cy = height / 2 + 0.28 * height * np.sin(angle) + rng.normal(0, 1, n)
    cx = width / 2 + 0.28 * width * np.cos(angle) + rng.normal(0, 1, n)
    radius = 0.12 * height * (1 + 0.2 * rng.random(n))
    d2 = (yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2
    images = 255 * np.exp(-d2 / (2 * radius[:, None, None] ** 2))
    if len(image_shape) == 3:
        tint = rng.uniform(0.4, 1.0, size=(n, 1, 1, image_shape[2]))
        images = images[..., None] * tint
    return images.clip(0, 255).astype(np.uint8), labels


def announce_synthetic(name: str, substitute: str, reason: BaseException, advice: str) -> None:
    """Say loudly (stderr banner and a RuntimeWarning) that ``name`` is replaced by synthetic data.

    Args:
        name: the dataset, e.g. ``"MNIST"``.
        substitute: what stands in for it, e.g. ``"dataset (coloured blobs)"``.
        reason: why the real data could not be had.
        advice: how to get the real data.
    """
    banner = (
        "\n" + "!" * 78 + "\n"
        f"!! NO REAL {name} DATA: {reason}\n"
        f"!! The ci profile falls back to a SMALL SYNTHETIC {substitute}.\n"
        f"!! Results are meaningless. {advice}\n" + "!" * 78
    )
    print(banner, file=sys.stderr)
    warnings.warn(f"Using synthetic {name} data", RuntimeWarning, stacklevel=4)


def _synthetic(source: _Source, reason: BaseException) -> tuple[Split, Split]:
    announce_synthetic(
        source.name, "dataset (coloured blobs)", reason, _expected_files_message(source)
    )
    labels_shape = (-1, 1) if source is _CIFAR10 else (-1,)
    x_train, y_train = synthetic_images(2048, source.image_shape, seed=0)
    x_test, y_test = synthetic_images(512, source.image_shape, seed=1)
    return (x_train, y_train.reshape(labels_shape)), (x_test, y_test.reshape(labels_shape))


def _load(
    source: _Source, max_train: int | None, max_test: int | None
) -> tuple[Split, Split]:
    if config.data_dir() is not None:
        if config.pad_to_full():
            train, test = _pad_to_full(source, *_from_npz(source))
        else:
            train, test = _from_npz(source, max_train, max_test)
    else:
        try:
            train, test = _from_keras(source)
        except Exception as error:  # no network, blocked download, ...
            if not config.get_profile().is_ci:
                raise DataNotFoundError(
                    f"{source.name} could not be downloaded ({error}). "
                    + _expected_files_message(source)
                ) from error
            train, test = _synthetic(source, error)
    return _head(train, max_train), _head(test, max_test)


def pad_split(split: Split, size: int) -> Split:
    """``split`` made ``size`` long by repeating its rows in order (unchanged if long enough).

    For the full-scale check only: evaluation code then meets the memory load of the real
    dataset, while the images are those of the local subset.
    """
    x, y = split
    if len(x) == 0:
        raise ValueError("pad_split: nothing to repeat")
    if len(x) >= size:
        return x, y
    rows = np.arange(size) % len(x)
    return x[rows], y[rows]


def _pad_to_full(source: _Source, train: Split, test: Split) -> tuple[Split, Split]:
    n_train, n_test = source.full_sizes
    if len(train[0]) >= n_train and len(test[0]) >= n_test:
        return train, test
    print(
        f"{source.name}: {config.PAD_ENV}=1 pads the local {len(train[0]):,} training / "
        f"{len(test[0]):,} test images to {n_train:,} / {n_test:,} by repeating them.",
        file=sys.stderr,
    )
    return pad_split(train, n_train), pad_split(test, n_test)


def _head(split: Split, limit: int | None) -> Split:
    x, y = split
    return (x, y) if limit is None else (x[:limit], y[:limit])


def load_mnist(max_train: int | None = None, max_test: int | None = None) -> tuple[Split, Split]:
    """``((x_train, y_train), (x_test, y_test))`` of MNIST, as Keras returns them.

    Args:
        max_train: keep only the first ``max_train`` training images (None: all).
        max_test: likewise for the test set.
    """
    return _load(_MNIST, max_train, max_test)


def load_cifar10(max_train: int | None = None, max_test: int | None = None) -> tuple[Split, Split]:
    """``((x_train, y_train), (x_test, y_test))`` of CIFAR-10, as Keras returns them.

    Labels have shape ``(N, 1)`` like Keras'. Locally this is the real subset in
    ``cifar10_subset.npz`` (5,438 training and 1,017 test images); with
    ``VAECOURSE_PAD_TO_FULL=1`` it is padded by repetition to the real 50,000 / 10,000
    (:func:`pad_split`), for the full-scale check.
    """
    return _load(_CIFAR10, max_train, max_test)


def preprocess_images(images: np.ndarray, binarize: bool = True) -> np.ndarray:
    """Scale uint8 images to float32 in [0, 1], add a channel axis, optionally binarize.

    MNIST ``(N, 28, 28)`` becomes ``(N, 28, 28, 1)``; colour images keep their
    channels. Binarizing thresholds at 0.5, as TensorFlow's CVAE tutorial does.
    """
    # BEGIN FILL-IN preprocess_images
    x = np.asarray(images, dtype=np.float32) / 255.0
    if x.ndim == 3:
        x = x[..., None]
    if binarize:
        x = np.where(x > 0.5, 1.0, 0.0).astype(np.float32)
    return x
    # END FILL-IN preprocess_images


def one_per_class(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Index of the first example of each class, in class order.

    Raises:
        ValueError: if a class does not occur.
    """
    # BEGIN FILL-IN one_per_class
    flat = np.asarray(labels).reshape(-1)
    indices = []
    for c in range(num_classes):
        hits = np.flatnonzero(flat == c)
        if hits.size == 0:
            raise ValueError(f"class {c} does not occur in the labels")
        indices.append(int(hits[0]))
    return np.array(indices)
    # END FILL-IN one_per_class
