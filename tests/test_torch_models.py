"""The CelebA VAE (vaecourse.torch.models): architecture, shapes, ranges and sampling maths."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from vaecourse.testkit import numpy_layers as nl
from vaecourse.torch import models


def _float64(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


@pytest.mark.parametrize("batch", [1, 2, 5])
@pytest.mark.parametrize("latent_dim,base", [(512, 64), (16, 8)])
def test_decoder_output_shape_and_range(batch: int, latent_dim: int, base: int) -> None:
    torch.manual_seed(batch)
    decoder = models.Decoder(latent_dim, base)
    for mode in (False, True):  # eval first: train mode updates the running statistics
        decoder.train(mode)
        x = decoder(50.0 * torch.randn(batch, latent_dim))  # large codes: tanh must bound them
        assert x.shape == (batch, 3, 64, 64)
        assert x.min() >= -1.0 and x.max() <= 1.0
        if not mode:  # running statistics: the large codes reach the tanh
            assert x.abs().max() > 0.9, "large codes should reach the edges of [-1, 1]"


def reference_vae(latent_dim: int = 512, base_filters: int = 64) -> models.VAE:
    """The VAE with the package's reference decoder and sampling (as a notebook passes its own)."""
    return models.VAE(models.Decoder(latent_dim, base_filters), models.reparameterize, latent_dim, base_filters)


@pytest.mark.parametrize("batch", [1, 3])
def test_encoder_keeps_the_batch_axis(batch: int) -> None:
    encoder = models.Encoder(512, 64)
    mu, logvar = encoder(torch.rand(batch, 3, 64, 64) * 2 - 1)
    assert mu.shape == (batch, 512) and logvar.shape == (batch, 512)


def test_architecture_is_the_assignments() -> None:
    model = reference_vae()
    convs = [m for m in model.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 64), (64, 128), (128, 256)]
    deconvs = [m for m in model.decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in deconvs] == [(256, 128), (128, 64), (64, 3)]
    for conv in convs + deconvs:
        assert (conv.kernel_size, conv.stride, conv.padding) == ((4, 4), (2, 2), (1, 1))
    assert (model.encoder.fc_mu.in_features, model.encoder.fc_mu.out_features) == (256 * 64, 512)
    assert model.encoder.fc_logvar.out_features == 512
    slopes = [m.negative_slope for m in model.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * 5
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 5
    assert isinstance(list(model.decoder.modules())[-1], nn.Tanh)


def test_decoder_equals_the_numpy_formula() -> None:
    torch.manual_seed(0)
    decoder = models.Decoder(latent_dim=6, base_filters=4)
    nl.randomize_batch_norm(decoder, seed=1)
    decoder.eval()
    z = np.random.default_rng(2).normal(size=(3, 6))
    out = decoder(torch.tensor(z, dtype=torch.float32))
    np.testing.assert_allclose(_float64(out), nl.decoder_numpy(decoder, z), atol=2e-5)


def test_numpy_decoder_detects_a_missing_activation() -> None:
    torch.manual_seed(0)
    decoder = models.Decoder(latent_dim=6, base_filters=4)
    decoder.layers = nn.Sequential(*[m for i, m in enumerate(decoder.layers) if i != 7])
    nl.randomize_batch_norm(decoder, seed=1)
    decoder.eval()
    z = np.random.default_rng(2).normal(size=(3, 6))
    difference = np.abs(_float64(decoder(torch.tensor(z, dtype=torch.float32)))
                        - nl.decoder_numpy(decoder, z)).max()
    assert difference > 1e-2


def test_encoder_equals_the_numpy_formula() -> None:
    torch.manual_seed(0)
    encoder = models.Encoder(latent_dim=5, base_filters=4)
    nl.randomize_batch_norm(encoder, seed=3)
    encoder.eval()
    x = np.random.default_rng(4).uniform(-1, 1, size=(2, 3, 64, 64))
    mu, logvar = encoder(torch.tensor(x, dtype=torch.float32))
    convs = [m for m in encoder.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in encoder.modules() if isinstance(m, nn.BatchNorm2d)]
    h = x
    for conv, norm in zip(convs, norms, strict=True):
        h = nl.conv2d(h, _float64(conv.weight), _float64(conv.bias))
        h = nl.batch_norm(h, _float64(norm.running_mean), _float64(norm.running_var),
                          _float64(norm.weight), _float64(norm.bias), norm.eps)
        h = nl.leaky_relu(h, 0.2)
    h = h.reshape(2, -1)
    fc_mu, fc_logvar = encoder.fc_mu, encoder.fc_logvar
    np.testing.assert_allclose(_float64(mu), nl.linear(h, _float64(fc_mu.weight), _float64(fc_mu.bias)), atol=1e-4)
    np.testing.assert_allclose(
        _float64(logvar), nl.linear(h, _float64(fc_logvar.weight), _float64(fc_logvar.bias)), atol=1e-4
    )


@pytest.mark.parametrize("batch", [1, 4])
def test_vae_forward_and_sample(batch: int) -> None:
    torch.manual_seed(0)
    model = reference_vae(32, 8)
    recon, mu, logvar = model(torch.rand(batch, 3, 64, 64) * 2 - 1)
    assert recon.shape == (batch, 3, 64, 64) and mu.shape == logvar.shape == (batch, 32)
    model.train()
    faces = model.sample(batch, generator=torch.Generator().manual_seed(1))
    assert faces.shape == (batch, 3, 64, 64) and faces.abs().max() <= 1.0
    assert model.training, "sample() must restore the training mode"
    again = model.sample(batch, generator=torch.Generator().manual_seed(1))
    assert torch.equal(faces, again)


def test_reparameterize_has_the_requested_mean_and_std() -> None:
    torch.manual_seed(0)
    mu = torch.tensor([1.5, -2.0, 0.0, 3.0]).repeat(50_000, 1)
    std = torch.tensor([0.5, 2.0, 1.0, 0.1]).repeat(50_000, 1)
    z = models.reparameterize(mu, torch.log(std**2))
    assert z.shape == mu.shape
    np.testing.assert_allclose(z.mean(0).numpy(), mu[0].numpy(), atol=4 * 2.0 / np.sqrt(50_000))
    np.testing.assert_allclose(z.std(0).numpy(), std[0].numpy(), rtol=0.02)
    eps = ((z - mu) / std).numpy()
    correlation = np.corrcoef(eps.T)
    assert np.abs(correlation - np.eye(4)).max() < 0.03, "noise must be independent per entry"


def test_reparameterize_draws_fresh_noise_per_row_and_is_seeded() -> None:
    mu, logvar = torch.zeros(1000, 3), torch.zeros(1000, 3)
    torch.manual_seed(7)
    a = models.reparameterize(mu, logvar)
    torch.manual_seed(7)
    b = models.reparameterize(mu, logvar)
    assert torch.equal(a, b)
    assert a.std(0).min() > 0.9, "every row needs its own noise"


def test_reparameterize_gradients_reach_mu_and_logvar() -> None:
    torch.manual_seed(0)
    mu = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    z = models.reparameterize(mu, logvar)
    z.sum().backward()
    np.testing.assert_allclose(mu.grad.numpy(), np.ones((6, 5)))
    # dz/dlogvar = 0.5 * exp(logvar / 2) * eps = 0.5 * (z - mu)
    np.testing.assert_allclose(logvar.grad.numpy(), 0.5 * (z - mu).detach().numpy(), rtol=1e-12)


def test_vae_uses_the_decoder_and_sampling_it_is_given() -> None:
    calls = []

    def sample(mu, logvar):
        calls.append(mu.shape)
        return mu

    decoder = models.Decoder(8, 4)
    model = models.VAE(decoder, sample, latent_dim=8, base_filters=4).eval()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    recon, mu, _ = model(x)
    assert calls == [(2, 8)] and model.decoder is decoder
    torch.testing.assert_close(recon, decoder(mu))


def test_eval_mode_restores_the_flag_also_on_error() -> None:
    model = models.Encoder(4, 2)
    model.train()
    with models.eval_mode(model):
        assert not model.training
    assert model.training
    with pytest.raises(RuntimeError), models.eval_mode(model):
        raise RuntimeError("inside")
    assert model.training
    model.eval()
    with models.eval_mode(model):
        pass
    assert not model.training, "a model in eval mode stays there"
