"""The CelebA VAE's loss (vaecourse.torch.losses) against closed forms computed in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from vaecourse.torch import losses


def _random_inputs(seed: int, batch: int = 4, latent: int = 7):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(batch, 3, 8, 8))
    recon = np.tanh(rng.normal(size=x.shape))
    mu = rng.normal(size=(batch, latent))
    logvar = rng.normal(scale=0.7, size=(batch, latent))
    return x, recon, mu, logvar


@pytest.mark.parametrize("kl_weight", [1.0, 0.25, 4.0])
@pytest.mark.parametrize("batch", [1, 5])
def test_loss_is_summed_mse_plus_weighted_kl(kl_weight: float, batch: int) -> None:
    x, recon, mu, logvar = _random_inputs(batch, batch=batch)
    expected = ((recon - x) ** 2).sum() + kl_weight * (
        -0.5 * (1 + logvar - mu**2 - np.exp(logvar)).sum()
    )
    t = [torch.tensor(a) for a in (recon, x, mu, logvar)]
    loss = losses.loss_function(*t, kl_weight=kl_weight)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)


def _kl(mu: np.ndarray, logvar: np.ndarray) -> torch.Tensor:
    """The loss's KL term alone: the reconstruction term is 0 for recon_x = x."""
    x = torch.zeros(mu.shape[0], 1, 2, 2, dtype=torch.float64)
    return losses.loss_function(x, x, torch.tensor(mu), torch.tensor(logvar))


def test_kl_is_zero_at_the_prior_and_positive_elsewhere() -> None:
    zeros = np.zeros((3, 4))
    assert _kl(zeros, zeros).item() == 0.0
    _, _, mu, logvar = _random_inputs(1, batch=200)
    per_example = [_kl(mu[i : i + 1], logvar[i : i + 1]).item() for i in range(len(mu))]
    assert min(per_example) > 0
    assert sum(per_example) == pytest.approx(_kl(mu, logvar).item(), rel=1e-12)  # summed over the batch


def test_kl_matches_a_monte_carlo_estimate() -> None:
    rng = np.random.default_rng(3)
    mu, logvar = rng.normal(size=(1, 3)), rng.normal(scale=0.5, size=(1, 3))
    std = np.exp(0.5 * logvar)
    z = mu + std * rng.normal(size=(400_000, 3))
    log_q = stats.norm.logpdf(z, mu, std).sum(1)
    log_p = stats.norm.logpdf(z).sum(1)
    estimate = (log_q - log_p).mean()
    error = 4 * (log_q - log_p).std() / np.sqrt(len(z))
    assert abs(_kl(mu, logvar).item() - estimate) < error


def test_reconstruction_gradient_is_twice_the_error() -> None:
    x, recon, mu, logvar = _random_inputs(4)
    recon_t = torch.tensor(recon, requires_grad=True)
    losses.loss_function(recon_t, torch.tensor(x), torch.tensor(mu), torch.tensor(logvar)).backward()
    np.testing.assert_allclose(recon_t.grad.numpy(), 2 * (recon - x), rtol=1e-12)
