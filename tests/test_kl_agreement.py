"""The TensorFlow KL divergence and the PyTorch loss's KL term agree on the same numbers (and with NumPy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vaecourse import config

config.quiet_tensorflow()
from vaecourse.tf import losses as tf_losses  # noqa: E402  (after quieting TensorFlow)
from vaecourse.torch import losses as torch_losses  # noqa: E402


def _numpy_kl(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    return -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)


def _torch_kl(mu: np.ndarray, logvar: np.ndarray) -> float:
    """The PyTorch loss's KL term (recon_x = x) for a batch of one."""
    x = torch.zeros(len(mu), 1, 2, 2)
    return torch_losses.loss_function(x, x, torch.from_numpy(mu), torch.from_numpy(logvar)).item()


@pytest.mark.parametrize("shape", [(1, 1), (5, 2), (64, 512)])
def test_tf_and_torch_kl_agree(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    mu = rng.normal(scale=2.0, size=shape).astype(np.float32)
    logvar = rng.normal(scale=1.5, size=shape).astype(np.float32)
    tf_kl = np.asarray(tf_losses.kl_to_standard_normal(mu, logvar), dtype=np.float64)
    torch_kl = np.array([_torch_kl(mu[i : i + 1], logvar[i : i + 1]) for i in range(shape[0])])
    exact = _numpy_kl(mu.astype(np.float64), logvar.astype(np.float64))
    assert tf_kl.shape == torch_kl.shape == (shape[0],)
    np.testing.assert_allclose(tf_kl, torch_kl, rtol=2e-6, atol=1e-5)
    np.testing.assert_allclose(torch_kl, exact, rtol=2e-6, atol=1e-5)


def test_both_are_zero_at_the_prior_and_equal_the_loss_term() -> None:
    zeros = np.zeros((3, 4), np.float32)
    assert np.all(np.asarray(tf_losses.kl_to_standard_normal(zeros, zeros)) == 0)
    mu = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    logvar = np.linspace(-2, 1, 12, dtype=np.float32).reshape(3, 4)
    x = torch.zeros(3, 1, 2, 2)
    loss_kl = torch_losses.loss_function(x, x, torch.from_numpy(mu), torch.from_numpy(logvar)).item()
    assert loss_kl == pytest.approx(float(np.sum(tf_losses.kl_to_standard_normal(mu, logvar))), rel=1e-5)
