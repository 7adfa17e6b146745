"""The CelebA VAE's loss, ``loss_function``: the notebook's part 4, which students write.

Its body is a fill-in (absent from the package students install while ``celeba_vae`` is
open); the notebook's text says what it computes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def loss_function(
    recon_x: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    kl_weight: float = 1.0,
) -> torch.Tensor:
    """Summed MSE reconstruction error plus ``kl_weight`` times the summed KL, a 0-d tensor.

    Args:
        recon_x: reconstructions, the shape of ``x``.
        x: the images.
        mu: means of q(z|x), (batch, latent_dim).
        logvar: log-variances of q(z|x), the same shape.
        kl_weight: the weight of the KL term (1 for the plain VAE).
    """
    # BEGIN FILL-IN celeba_vae/loss_function
    reconstruction = F.mse_loss(recon_x, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return reconstruction + kl_weight * kl
    # END FILL-IN celeba_vae/loss_function
