"""Training the CelebA VAE (vaecourse.torch.training): the step's maths and the loop."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import torch
from torch import nn
from vaecourse.torch import losses, models, training

REFERENCE = {"loss_fn": losses.loss_function, "step_fn": training.train_step}


def _vae(latent_dim: int, base_filters: int) -> models.VAE:
    return models.VAE(models.Decoder(latent_dim, base_filters), models.reparameterize, latent_dim, base_filters)


class TinyVAE(nn.Module):
    """A deterministic stand-in with the VAE's interface: (recon, mu, logvar) = model(x)."""

    def __init__(self, pixels: int = 12, latent: int = 3) -> None:
        super().__init__()
        self.mu = nn.Linear(pixels, latent)
        self.logvar = nn.Linear(pixels, latent)
        self.out = nn.Linear(latent, pixels)

    def forward(self, x):
        h = x.flatten(1)
        mu, logvar = self.mu(h), self.logvar(h)
        return torch.tanh(self.out(mu)).view_as(x), mu, logvar


def _manual_step(model: nn.Module, x: torch.Tensor, lr: float) -> float:
    """Plain SGD computed by hand: p <- p - lr * dL/dp."""
    recon, mu, logvar = model(x)
    loss = losses.loss_function(recon, x, mu, logvar)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    with torch.no_grad():
        for p, g in zip(model.parameters(), grads, strict=True):
            p -= lr * g
    return loss.item()


def test_train_step_is_one_sgd_update_per_call() -> None:
    torch.manual_seed(0)
    model = TinyVAE().double()
    expected = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    for seed in (1, 2):  # two steps: a missing zero_grad would accumulate gradients
        x = torch.rand(4, 3, 2, 2, generator=torch.Generator().manual_seed(seed)).double() * 2 - 1
        loss = training.train_step(model, x, optimizer, losses.loss_function)
        loss_before = _manual_step(expected, x, lr=1e-3)
        assert float(loss) == pytest.approx(loss_before, rel=1e-12)
        for p, q in zip(model.parameters(), expected.parameters(), strict=True):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_default_device_is_usable() -> None:
    device = training.default_device()
    assert torch.zeros(1, device=device).device.type == device.type
    if not torch.cuda.is_available():
        assert device.type in ("cpu", "mps")


@pytest.fixture(scope="module")
def face_batches():
    if not os.environ.get("VAECOURSE_DATA"):
        pytest.skip("VAECOURSE_DATA is not set (real CelebA faces needed)")
    from vaecourse.torch import celeba

    data = celeba.CelebA(split="train", max_images=48)
    return [batch for batch in celeba.make_loader(data, batch_size=16, shuffle=False, num_workers=0)]


def test_a_few_steps_reduce_the_loss_on_real_faces(face_batches) -> None:
    torch.manual_seed(0)
    model = _vae(16, 8)
    optimizer = training.make_optimizer(model, lr=2e-3)
    history = training.fit(model, face_batches, optimizer, epochs=4, device="cpu", **REFERENCE,
                           progress=False, log=None)
    assert [h.epoch for h in history] == [1, 2, 3, 4]
    assert all(h.images == 48 and h.seconds > 0 for h in history)
    assert history[-1].loss < 0.8 * history[0].loss  # 0.74 with this seed (the decoder is built first)
    first = training.evaluate(model, face_batches[:1], losses.loss_function)
    assert np.isfinite(first) and first < history[0].loss


def test_fit_respects_steps_per_epoch_and_reports_test_loss(face_batches) -> None:
    torch.manual_seed(0)
    model = _vae(8, 4)
    lines: list[str] = []
    history = training.fit(model, face_batches, training.make_optimizer(model), epochs=1, **REFERENCE,
                           steps_per_epoch=2, test_loader=face_batches[:1], progress=False,
                           log=lines.append)
    assert history[0].images == 32
    assert history[0].test_loss is not None and np.isfinite(history[0].test_loss)
    assert len(lines) == 1 and "images/s" in lines[0] and "test loss" in lines[0]


def test_evaluate_is_the_average_loss_per_image() -> None:
    torch.manual_seed(0)
    model = TinyVAE().double().eval()
    batches = [torch.rand(n, 3, 2, 2, dtype=torch.float64) for n in (3, 5)]
    total = 0.0
    for x in batches:
        recon, mu, logvar = model(x)
        total += losses.loss_function(recon, x, mu, logvar).item()
    assert training.evaluate(model, batches, losses.loss_function) == pytest.approx(total / 8, rel=1e-12)


def test_kl_weight_reaches_the_loss() -> None:
    torch.manual_seed(0)
    model = TinyVAE().double()
    seen = []

    def loss_fn(recon, x, mu, logvar, kl_weight=1.0):
        seen.append(kl_weight)
        return losses.loss_function(recon, x, mu, logvar, kl_weight)

    x = torch.rand(2, 3, 2, 2, dtype=torch.float64)
    training.fit(model, [x], torch.optim.SGD(model.parameters(), lr=0.0), loss_fn=loss_fn,
                 step_fn=training.train_step, kl_weight=0.5, device="cpu", progress=False, log=None)
    assert seen == [0.5]
