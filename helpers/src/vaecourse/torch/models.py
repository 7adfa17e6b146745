"""The CelebA 64x64 VAE: a convolutional encoder to (mu, logvar), the student's decoder.

The encoder, for the default ``base_filters=64`` (``b``) and ``latent_dim=512``::

    (B, 3, 64, 64) -conv-> (B, b, 32, 32) -conv-> (B, 2b, 16, 16) -conv-> (B, 4b, 8, 8)
    -flatten-> (B, 4b*64) -fc-> mu, logvar (B, 512)

Every convolution has kernel 4, stride 2, padding 1 and is followed by BatchNorm and
LeakyReLU(0.2). ``logvar`` is the log of the variance sigma^2 (not sigma). The decoder
and the sampling step are the notebook's exercises (parts 2 and 3): their bodies are
fill-ins, absent from the package students install while ``celeba_vae`` is open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

SampleFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Run a block with ``module`` in eval mode; its training flag is restored afterwards,
    also when the block raises::

        with eval_mode(model):
            mu, _ = model.encode(x)   # BatchNorm uses its running statistics
    """
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A sample z ~ N(mu, exp(logvar)) through which gradients reach ``mu`` and ``logvar``.

    Args:
        mu: means, shape (batch, latent_dim).
        logvar: log-variances log(sigma^2), the same shape.

    Returns:
        z, the same shape as ``mu``.
    """
    # BEGIN FILL-IN celeba_vae/reparameterize
    std = torch.exp(0.5 * logvar)  # logvar = log(sigma^2), so sigma = exp(logvar / 2)
    eps = torch.randn_like(std)  # fresh noise with no trainable input
    return mu + eps * std
    # END FILL-IN celeba_vae/reparameterize


class Encoder(nn.Module):
    """(B, 3, 64, 64) images in [-1, 1] to the mean and log-variance of q(z|x)."""

    def __init__(self, latent_dim: int = 512, base_filters: int = 64) -> None:
        super().__init__()
        b = base_filters
        self.layers = nn.Sequential(
            nn.Conv2d(3, b, 4, stride=2, padding=1),  # 64 -> 32
            nn.BatchNorm2d(b),
            nn.LeakyReLU(0.2),
            nn.Conv2d(b, 2 * b, 4, stride=2, padding=1),  # 32 -> 16
            nn.BatchNorm2d(2 * b),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * b, 4 * b, 4, stride=2, padding=1),  # 16 -> 8
            nn.BatchNorm2d(4 * b),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.fc_mu = nn.Linear(4 * b * 8 * 8, latent_dim)
        self.fc_logvar = nn.Linear(4 * b * 8 * 8, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mu, logvar)``, each (B, latent_dim), also for a batch of one."""
        h = self.layers(x)
        return self.fc_mu(h), self.fc_logvar(h)


class Decoder(nn.Module):
    """(B, latent_dim) codes to (B, 3, 64, 64) images in [-1, 1]; the encoder mirrored."""

    def __init__(self, latent_dim: int = 512, base_filters: int = 64) -> None:
        super().__init__()
        # BEGIN FILL-IN celeba_vae/Decoder
        b = base_filters
        self.layers = nn.Sequential(
            nn.Linear(latent_dim, 4 * b * 8 * 8),
            nn.Unflatten(1, (4 * b, 8, 8)),
            nn.ConvTranspose2d(4 * b, 2 * b, 4, stride=2, padding=1),  # 8 -> 16
            nn.BatchNorm2d(2 * b),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(2 * b, b, 4, stride=2, padding=1),  # 16 -> 32
            nn.BatchNorm2d(b),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(b, 3, 4, stride=2, padding=1),  # 32 -> 64
            nn.Tanh(),  # pixels in [-1, 1], like the normalized images
        )
        # END FILL-IN celeba_vae/Decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode (B, latent_dim) codes to (B, 3, 64, 64) images."""
        return self.layers(z)


class VAE(nn.Module):
    """The CelebA VAE: the course :class:`Encoder`, a decoder and a sampling function.

    The decoder and the reparameterization are the student's (the notebook passes its own
    ``Decoder`` and ``reparameterize``); the package never fills them in itself.

    Args:
        decoder: maps (B, latent_dim) codes to (B, 3, 64, 64) images.
        reparameterize: ``reparameterize(mu, logvar)`` -> z, differentiably.
        latent_dim: size of z (512 in the assignment).
        base_filters: channels of the encoder's first convolution (64); then 2x and 4x.
    """

    def __init__(
        self,
        decoder: nn.Module,
        reparameterize: SampleFn,
        latent_dim: int = 512,
        base_filters: int = 64,
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, base_filters)
        self.decoder = decoder
        self._sample = reparameterize

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of q(z|x), each (B, latent_dim)."""
        return self.encoder(x)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z ~ N(mu, exp(logvar)), differentiably, with the function given to the constructor."""
        return self._sample(mu, logvar)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] for codes z."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reconstruction, mu, logvar)`` for a batch of images."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` codes drawn from the prior N(0, I) (in eval mode: BatchNorm's running stats)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        with eval_mode(self):
            return self.decode(z)
