"""Exploring a trained VAE's latent space: encodings, scatter plots, tables, walks, samples.

These are the MNIST assignment's fill-ins from part 4 on (the solution notebook shows the
code between the ``# BEGIN FILL-IN`` / ``# END FILL-IN`` lines). They need only the VAE
interface of TensorFlow's CVAE tutorial, so they work for every model in
:mod:`vaecourse.tf.models` (and for the hidden tests' stand-ins, :mod:`vaecourse.testkit.fakes`):

* ``encode(x) -> (mean, logvar)``, each (batch, latent_dim);
* ``reparameterize(mean, logvar) -> z``;
* ``decode(z, apply_sigmoid=False)`` -> logits (probabilities with ``apply_sigmoid``);
* ``sample(eps)`` -> decoded probabilities of the codes ``eps``.

Everything returns NumPy arrays (float32) or matplotlib figures. No function here calls a
fill-in outside its own fill-in body (the student build of the package strips those bodies).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from matplotlib.figure import Figure

from .. import plots


class VAELike(Protocol):
    """The interface of TensorFlow's CVAE tutorial that these functions use."""

    def encode(self, x: Any) -> tuple[Any, Any]: ...  # noqa: D102

    def reparameterize(self, mean: Any, logvar: Any) -> Any: ...  # noqa: D102

    def decode(self, z: Any, apply_sigmoid: bool = False) -> Any: ...  # noqa: D102

    def sample(self, eps: Any = None) -> Any: ...  # noqa: D102


def get_allClass_encodings(model: VAELike, images: np.ndarray, batch_size: int = 256) -> np.ndarray:  # noqa: N802
    """The posterior means of all ``images``, encoded in batches.

    Args:
        model: a VAE with ``encode(x) -> (mean, logvar)``.
        images: (N, H, W, C) float32 images in [0, 1] (all classes).
        batch_size: images per call of ``model.encode`` (the last batch may be smaller).

    Returns:
        (N, latent_dim) float32: the mean of q(z|x) of every image, in order (no sampling,
        so the result is deterministic).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if len(images) == 0:
        raise ValueError("get_allClass_encodings: no images")
    # BEGIN FILL-IN get_allClass_encodings
    means = []
    for start in range(0, len(images), batch_size):
        mean, _ = model.encode(images[start : start + batch_size])
        means.append(np.asarray(mean, dtype=np.float32))
    return np.concatenate(means, axis=0)
    # END FILL-IN get_allClass_encodings


def plot_latent_space(model: VAELike, images: np.ndarray, labels: np.ndarray,
                      class_names: list[str] | None = None, batch_size: int = 256,
                      title: str | None = None) -> Figure:
    """Scatter the posterior means of ``images`` in the latent space, coloured by label.

    A latent space of more than two dimensions is shown in a PCA projection to 2-D.

    Returns:
        the matplotlib figure.
    """
    # BEGIN FILL-IN plot_latent_space
    z = get_allClass_encodings(model, images, batch_size=batch_size)
    return plots.plot_latent_scatter(z, labels, class_names=class_names, title=title)
    # END FILL-IN plot_latent_space


def format_latent_table(z: np.ndarray, row_names: list[str] | None = None,
                        name: str = "digit", decimals: int = 2) -> str:
    """A fixed-width text table of latent coordinates, one row per code.

    Columns are ``z[0]``, ``z[1]``, ...; rows are named ``row_names`` (default 0, 1, ...).
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"z must be (rows, latent_dim), got shape {z.shape}")
    names = [str(r) for r in (row_names if row_names is not None else range(len(z)))]
    if len(names) != len(z):
        raise ValueError(f"{len(names)} row names for {len(z)} rows")
    width = max(7, decimals + 5)
    first = max(len(name), *(len(n) for n in names))
    lines = [f"{name:>{first}}" + "".join(f"{f'z[{j}]':>{width}}" for j in range(z.shape[1]))]
    for row_name, row in zip(names, z, strict=True):
        lines.append(f"{row_name:>{first}}" + "".join(f"{v:>{width}.{decimals}f}" for v in row))
    return "\n".join(lines)


def decode_latent(model: VAELike, z_sample) -> np.ndarray:
    """Decode chosen latent points, e.g. ``[[0.5, 0.2]]``, to pixel probabilities.

    Args:
        z_sample: (n, latent_dim) points (a nested list or array).

    Returns:
        (n, H, W, C) float32 images in [0, 1].
    """
    z = np.atleast_2d(np.asarray(z_sample, dtype=np.float32))
    return np.asarray(model.decode(z, apply_sigmoid=True), dtype=np.float32)


def generate_and_display_images(model: VAELike, test_sample: np.ndarray,
                                title: str | None = None) -> np.ndarray:
    """Reconstructions of ``test_sample`` through the VAE, one sampled code per image, shown as a grid.

    As in TensorFlow's CVAE tutorial; the images are pixel probabilities in [0, 1].

    Returns:
        the generated images, (n, H, W, C) float32.
    """
    # BEGIN FILL-IN generate_and_display_images
    mean, logvar = model.encode(test_sample)
    z = model.reparameterize(mean, logvar)
    predictions = np.asarray(model.sample(z), dtype=np.float32)
    plots.display(plots.show_images(predictions, nrow=8, title=title))
    return predictions
    # END FILL-IN generate_and_display_images


def walk_src_to_dst(model: VAELike, x_src: np.ndarray, x_dst: np.ndarray,
                    n_steps: int = 10) -> np.ndarray:
    """The decoded images of ``n_steps`` evenly spaced codes from ``x_src``'s to ``x_dst``'s.

    The walk goes along the straight line between the posterior means of the two images, both
    ends included, and returns pixel probabilities.

    Args:
        x_src, x_dst: single images (H, W, C).

    Returns:
        (n_steps, H, W, C) float32 images, from the source's to the destination's decoding.
    """
    if n_steps < 2:
        raise ValueError(f"n_steps must be >= 2 (both ends), got {n_steps}")
    # BEGIN FILL-IN walk_src_to_dst
    pair = np.stack([x_src, x_dst]).astype(np.float32)
    mean, _ = model.encode(pair)
    z_src, z_dst = np.asarray(mean, dtype=np.float32)
    t = np.linspace(0.0, 1.0, n_steps, dtype=np.float32)[:, None]
    z_path = (1.0 - t) * z_src + t * z_dst
    return np.asarray(model.decode(z_path, apply_sigmoid=True), dtype=np.float32)
    # END FILL-IN walk_src_to_dst
