"""Working in the latent space: codes of a dataset, interpolation, attribute directions."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from .models import eval_mode


@torch.no_grad()
def encode_dataset(
    model: nn.Module, loader: Iterable, max_batches: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The means mu of q(z|x) of every batch (eval mode), with the batches' labels.

    Returns:
        ``(codes, labels)`` on the CPU: ``(N, latent_dim)`` and ``(N, ...)`` (for
        CelebA the 0/1 attribute rows).
    """
    device = next(model.parameters()).device
    codes, labels = [], []
    with eval_mode(model):
        for k, (x, y) in enumerate(loader):
            if max_batches is not None and k >= max_batches:
                break
            mu, _ = model.encode(x.to(device))
            codes.append(mu.cpu())
            labels.append(y)
    return torch.cat(codes), torch.cat(labels)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """``steps`` codes on the straight line from ``z0`` to ``z1`` (both ends included)."""
    if steps < 2:
        raise ValueError("steps must be at least 2")
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype, device=z0.device).unsqueeze(1)
    return (1 - t) * z0.reshape(1, -1) + t * z1.reshape(1, -1)


def attribute_direction(codes: torch.Tensor, has_attribute: torch.Tensor) -> torch.Tensor:
    """Mean code of the faces with an attribute minus the mean code of those without.

    Args:
        codes: (N, latent_dim).
        has_attribute: (N,) booleans (or 0/1).

    Raises:
        ValueError: if every face, or none, has the attribute.
    """
    mask = torch.as_tensor(has_attribute).to(torch.bool).reshape(-1)
    if mask.numel() != codes.shape[0]:
        raise ValueError(f"{mask.numel()} attribute values for {codes.shape[0]} codes")
    if mask.all() or not mask.any():
        raise ValueError("the attribute direction needs faces with and without the attribute")
    return codes[mask].mean(0) - codes[~mask].mean(0)
