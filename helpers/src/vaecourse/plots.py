"""Figures of the course: NumPy in, matplotlib out (no TensorFlow or PyTorch here).

Images are NHWC (``(N, H, W, C)`` with C = 1 or 3) or ``(N, H, W)`` arrays, float in
[0, 1] unless ``value_range`` says otherwise (CelebA tensors in [-1, 1]: pass
``value_range=(-1, 1)``), or uint8. Convert tensors first (``tensor.numpy()``,
``tensor.detach().cpu().numpy()``; PyTorch NCHW must be moved to NHWC).

Every function returns its ``matplotlib.figure.Figure``. In a notebook the figure appears
when the cell ends; :func:`display` shows it immediately (used inside training loops).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

LATENT_SCATTER_ALPHA = 0.35  # plot_latent_scatter: overlapping classes stay visible
LATENT_SCATTER_SEED = 0  # plot_latent_scatter's drawing order (classes interleaved)


def display(fig: Figure) -> None:
    """Show ``fig`` now in a notebook; in a non-interactive backend (scripts) just close it."""
    backend = matplotlib.get_backend().lower()
    if "inline" in backend or "ipympl" in backend or "widget" in backend:
        try:
            from IPython.display import display as ipython_display

            ipython_display(fig)
        except ImportError:  # pragma: no cover - inline backends come with IPython
            pass
        plt.close(fig)
    elif backend == "agg":
        plt.close(fig)
    else:  # an interactive desktop backend
        plt.show(block=False)


def to_display(images, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Images as float NHWC in [0, 1] (``(N, H, W, 1)`` for grayscale).

    Accepts ``(H, W)``, ``(H, W, C)``, ``(N, H, W)`` or ``(N, H, W, C)``; uint8 is divided
    by 255; ``value_range=(lo, hi)`` maps [lo, hi] to [0, 1]. Values are clipped.
    """
    x = np.asarray(images)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    else:
        x = x.astype(np.float32)
        if value_range is not None:
            lo, hi = value_range
            x = (x - lo) / (hi - lo)
    if x.ndim == 2:
        x = x[None, :, :, None]
    elif x.ndim == 3:  # one (H, W, 1|3) image, or a batch (N, H, W) of grayscale images
        x = x[None] if x.shape[-1] in (1, 3) else x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(
            f"images of shape {np.shape(images)}: expected (N, H, W), (N, H, W, 1) or "
            "(N, H, W, 3) (NHWC; move PyTorch's channels last first)."
        )
    return np.clip(x, 0.0, 1.0)


def image_grid(images, nrow: int | None = None, pad: int = 1, pad_value: float = 1.0,
               value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Tile images into one array, ``nrow`` images per row (like torchvision's make_grid).

    Args:
        images: N images (see :func:`to_display`).
        nrow: images per row (default ``ceil(sqrt(N))``).
        pad: pixels of ``pad_value`` between and around the images.

    Returns:
        ``(rows*(H+pad)+pad, nrow*(W+pad)+pad)`` for grayscale, with a trailing axis of 3
        for colour images; float in [0, 1].
    """
    x = to_display(images, value_range)
    n, h, w, c = x.shape
    if n == 0:
        raise ValueError("image_grid: no images")
    ncol = int(nrow) if nrow else math.ceil(math.sqrt(n))
    if ncol < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    rows = math.ceil(n / ncol)
    grid = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad, c), pad_value, np.float32)
    for i in range(n):
        r, col = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top:top + h, left:left + w] = x[i]
    return grid[..., 0] if c == 1 else grid


def _imshow(ax, image: np.ndarray) -> None:
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_axis_off()


def show_images(images, titles: Sequence[str] | None = None, nrow: int | None = None,
                title: str | None = None,
                value_range: tuple[float, float] | None = None) -> Figure:
    """Show images as a grid; with ``titles``, one small panel per image with its title."""
    x = to_display(images, value_range)
    n = len(x)
    if titles is None:
        grid = image_grid(x, nrow)
        ncol = int(nrow) if nrow else math.ceil(math.sqrt(n))
        rows = math.ceil(n / ncol)
        fig, ax = plt.subplots(figsize=(min(1.0 * ncol, 12), min(1.0 * rows, 12) + 0.3), layout="tight")
        _imshow(ax, grid)
    else:
        if len(titles) != n:
            raise ValueError(f"{len(titles)} titles for {n} images")
        ncol = int(nrow) if nrow else min(n, 10)
        rows = math.ceil(n / ncol)
        fig, axes = plt.subplots(rows, ncol, figsize=(1.2 * ncol, 1.4 * rows), squeeze=False,
                                 layout="tight")
        for i, ax in enumerate(axes.flat):
            if i < n:
                _imshow(ax, x[i])
                ax.set_title(str(titles[i]), fontsize=8)
            else:
                ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def show_one_per_class(images, labels, class_names: Sequence[str] | None = None,
                       value_range: tuple[float, float] | None = None) -> Figure:
    """The first image of every class, titled with its class name (or number)."""
    flat = np.asarray(labels).reshape(-1)
    num_classes = len(class_names) if class_names is not None else int(flat.max()) + 1
    from .data import one_per_class

    idx = one_per_class(flat, num_classes)
    titles = [class_names[c] if class_names is not None else str(c) for c in range(num_classes)]
    return show_images(np.asarray(images)[idx], titles=titles, nrow=min(num_classes, 10),
                       value_range=value_range)


def show_reconstructions(originals, reconstructions, n: int | None = None,
                         title: str | None = None,
                         value_range: tuple[float, float] | None = None) -> Figure:
    """Two rows: originals on top, their reconstructions below (first ``n``, default up to 10)."""
    a, b = to_display(originals, value_range), to_display(reconstructions, value_range)
    if a.shape != b.shape:
        raise ValueError(f"originals {a.shape} and reconstructions {b.shape} differ in shape")
    k = min(len(a), n or 10)
    fig, axes = plt.subplots(2, k, figsize=(1.1 * k, 2.5), squeeze=False, layout="tight")
    for i in range(k):
        _imshow(axes[0, i], a[i])
        _imshow(axes[1, i], b[i])
    axes[0, 0].set_title("original", fontsize=8, loc="left")
    axes[1, 0].set_title("reconstruction", fontsize=8, loc="left")
    if title:
        fig.suptitle(title)
    return fig


def pca_2d(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of ``z`` onto their first two principal components.

    Returns:
        (projection (N, 2), fraction of the variance each component explains (2,)).
    """
    z = np.asarray(z, dtype=np.float64)
    centred = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    var = s**2
    explained = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    return centred @ vt[:2].T, explained


def plot_latent_scatter(z, labels, class_names: Sequence[str] | None = None,
                        title: str | None = None) -> Figure:
    """Scatter of latent codes coloured by class; PCA to 2-D when the latent size is > 2.

    The points of all classes are drawn in one random order (seeded: the same figure every
    time) and semi-transparent, so that no class hides another: where classes overlap, their
    colours mix instead of the class drawn last covering the others.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"z must be (N, dim) with dim >= 2, got shape {z.shape}")
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(z):
        raise ValueError(f"{len(labels)} labels for {len(z)} codes")
    if z.shape[1] == 2:
        xy, xlabel, ylabel = z, "z[0]", "z[1]"
    else:
        xy, explained = pca_2d(z)
        xlabel = f"PC 1 ({100 * explained[0]:.0f}% of variance)"
        ylabel = f"PC 2 ({100 * explained[1]:.0f}% of variance)"
    fig, ax = plt.subplots(figsize=(6.5, 5.5), layout="tight")
    classes, index = np.unique(labels, return_inverse=True)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    colours = np.array([cmap(i % cmap.N) for i in range(len(classes))]).reshape(-1, 4)
    order = np.random.default_rng(LATENT_SCATTER_SEED).permutation(len(xy))
    ax.scatter(xy[order, 0], xy[order, 1], s=4, alpha=LATENT_SCATTER_ALPHA, c=colours[index[order]],
               linewidths=0)
    names = [class_names[int(c)] if class_names is not None else str(c) for c in classes]
    handles = [Line2D([], [], marker="o", linestyle="", markersize=5, color=colours[i], label=name)
               for i, name in enumerate(names)]
    ax.legend(handles=handles, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or ("latent space" if z.shape[1] == 2
                           else f"latent space ({z.shape[1]}-D, PCA projection)"))
    return fig


def plot_latent_manifold(decode_fn: Callable[[np.ndarray], np.ndarray], n: int = 20,
                         span: float = 3.0, image_shape=(28, 28, 1),
                         title: str | None = None) -> Figure:
    """Decode an ``n`` x ``n`` grid of 2-D latent points in [-span, span]^2 and tile the images.

    Args:
        decode_fn: maps z of shape (n*n, 2) (float32) to images (n*n, H, W[, C]) in [0, 1]
            (e.g. ``lambda z: model.decode(z, apply_sigmoid=True).numpy()``).
        image_shape: the decoded image shape (checked).

    Rows go from +span (top) to -span (bottom) in z[1], columns from -span to +span in z[0].
    """
    axis = np.linspace(-span, span, n, dtype=np.float32)
    zx, zy = np.meshgrid(axis, axis[::-1])
    z = np.stack([zx.ravel(), zy.ravel()], axis=1).astype(np.float32)
    images = np.asarray(decode_fn(z))
    expected = (n * n, *tuple(image_shape))
    if images.reshape(len(images), -1).shape[1] != math.prod(image_shape) or len(images) != n * n:
        raise ValueError(f"decode_fn returned shape {images.shape}, expected {expected}")
    images = images.reshape(expected)
    grid = image_grid(images, nrow=n, pad=0)
    h, w = image_shape[:2]
    half = (span / (n - 1) if n > 1 else span)  # half a cell, so ticks sit on cell centres
    fig, ax = plt.subplots(figsize=(7, 7), layout="tight")
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1,
              extent=(-span - half, span + half, -span - half, span + half))
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(title or f"decoded latent grid ({n}x{n}, {h}x{w} images)")
    return fig


def show_interpolation(images, title: str | None = None,
                       value_range: tuple[float, float] | None = None) -> Figure:
    """One row: the decoded images along a path from the first to the last."""
    x = to_display(images, value_range)
    k = len(x)
    fig, axes = plt.subplots(1, k, figsize=(1.1 * k, 1.5), squeeze=False, layout="tight")
    for i, ax in enumerate(axes[0]):
        _imshow(ax, x[i])
    axes[0, 0].set_title("start", fontsize=8)
    axes[0, -1].set_title("end", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def _history_field(history, name: str) -> list[float]:
    value = history.get(name) if isinstance(history, dict) else getattr(history, name, None)
    return [] if value is None else [float(v) for v in value]


def plot_training_curves(history, title: str | None = None) -> Figure:
    """Train loss and test negative ELBO per epoch (left), and seconds per epoch (right).

    ``history`` is a ``training.History`` (TensorFlow or PyTorch) or a dict with the lists
    ``train_loss``, ``test_elbo`` and optionally ``epoch_time``.
    """
    train = _history_field(history, "train_loss")
    test = _history_field(history, "test_elbo")
    times = _history_field(history, "epoch_time")
    if not train and not test:
        raise ValueError("plot_training_curves: the history has no train_loss or test_elbo")
    fig, (ax, ax_t) = plt.subplots(1, 2, figsize=(10, 3.5),
                                   gridspec_kw={"width_ratios": [2, 1]}, layout="tight")
    if train:
        ax.plot(range(1, len(train) + 1), train, "o-", label="train loss")
    if test:
        ax.plot(range(1, len(test) + 1), [-v for v in test], "s-", label="test -ELBO")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("nats per image")
    ax.legend()
    ax.grid(alpha=0.3)
    if times:
        ax_t.bar(range(1, len(times) + 1), times, color="tab:gray")
        ax_t.set_xlabel("epoch")
        ax_t.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_t.set_ylabel("wall seconds")
    else:
        ax_t.set_axis_off()
    fig.suptitle(title or "training")
    return fig
