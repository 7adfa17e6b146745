"""Showing (N, C, H, W) image tensors normalized to [-1, 1] (no torchvision).

:func:`make_grid` tiles a batch; :func:`to_image` maps [-1, 1] back to [0, 1] for display.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def make_grid(
    images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 1.0
) -> torch.Tensor:
    """Tile a batch ``(N, C, H, W)`` into one ``(C, H', W')`` image, ``nrow`` images per row.

    Like torchvision's ``make_grid``: ``min(nrow, N)`` columns, ``ceil(N / nrow)`` rows,
    ``padding`` pixels of ``pad_value`` around every image (1.0 is white in [-1, 1]).
    """
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4:
        raise ValueError(f"expected (N, C, H, W) images, got shape {tuple(images.shape)}")
    if nrow < 1:
        raise ValueError("nrow must be at least 1")
    n, channels, height, width = images.shape
    columns = min(nrow, n)
    rows = math.ceil(n / nrow)
    cell_h, cell_w = height + padding, width + padding
    grid = images.new_full((channels, rows * cell_h + padding, columns * cell_w + padding), pad_value)
    for k in range(n):
        r, c = divmod(k, nrow)
        top, left = r * cell_h + padding, c * cell_w + padding
        grid[:, top : top + height, left : left + width] = images[k]
    return grid


def to_image(images: torch.Tensor) -> np.ndarray:
    """A (C, H, W) or (N, C, H, W) tensor in [-1, 1] as channels-last floats in [0, 1].

    Maps -1 to 0, 0 to 0.5 and 1 to 1 by ``(x + 1) / 2``; only rounding errors outside
    [0, 1] are clipped. Single-channel images lose their channel axis (for ``imshow``).
    """
    array = images.detach().float().cpu().numpy()
    array = np.clip((array + 1.0) / 2.0, 0.0, 1.0)
    array = np.moveaxis(array, -3, -1)
    return array[..., 0] if array.shape[-1] == 1 else array


def show_images(
    images: torch.Tensor, nrow: int = 8, title: str | None = None, ax=None, scale: float = 1.0
):
    """Plot a batch of [-1, 1] images as one grid; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    grid = make_grid(images.detach().cpu(), nrow=nrow)
    if ax is None:
        height, width = grid.shape[1:]
        _, ax = plt.subplots(figsize=(scale * width / 80, scale * height / 80 + 0.4))
    ax.imshow(to_image(grid), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_rows(rows: dict[str, torch.Tensor], scale: float = 1.0):
    """One labelled grid row per entry (e.g. originals over reconstructions); returns the Figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 1, squeeze=False,
                             figsize=(scale * 1.1 * max(len(v) for v in rows.values()),
                                      scale * 1.3 * len(rows)), layout="tight")
    for ax, (label, images) in zip(axes[:, 0], rows.items(), strict=True):
        show_images(images, nrow=len(images), ax=ax)
        ax.set_title(label, loc="left", fontsize=10)
    return fig
