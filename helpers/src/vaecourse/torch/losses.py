"""The CelebA VAE's loss: summed squared error plus a weighted KL divergence.

With a Gaussian decoder of fixed variance sigma^2, -log p(x|z) is the squared error
scaled by 1 / (2 sigma^2), plus a constant: the summed squared error used here is the
negative log-likelihood (up to that constant) for sigma^2 = 1/2. The analytic
KL(N(mu, sigma^2) || N(0, I)) of q(z|x) is

    KL = -1/2 * sum(1 + log sigma^2 - mu^2 - sigma^2).

Both terms are **summed** over pixels, latent dimensions and the batch, as in the
original assignment; ``kl_weight`` (beta) scales the KL term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per example: shape (batch,).

    Zero exactly at the prior (mu = 0, logvar = 0) and non-negative everywhere.
    """
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)


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
