"""The original assignment's CelebA VAE, re-created in the course's words for its code review.

The notebook this course grew out of trained the model below. Its layers, reshapes,
device handling, loss, training loop and evaluation are kept exactly as they behaved
there (faults included: finding them is the notebook's question); the names, layout and
comments are the course's own. Only the data set-up differs: the original read an image
folder with torchvision, here any dataset of ``(image, label)`` pairs is passed in.

Three bodies would answer the notebook's own exercises: the sampling, the loss and the
step inside the training loop. They are ``# BEGIN ANSWER`` blocks, absent from the package
students install while ``celeba_vae`` is open (the printed source then shows a stub).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import Variable
from torch.utils.data import DataLoader, Dataset

FILTERS = 64  # channels of the first convolution
LATENT = 512  # size of the code


class OriginalVAE(nn.Module):
    """Encoder, sampling and decoder in one module, as the original wrote it."""

    def __init__(self, filters: int = FILTERS, latent: int = LATENT) -> None:
        super().__init__()
        f = filters
        self.encode_layer = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, f, kernel_size=4, stride=2, padding=1)),
            ("bn1", nn.BatchNorm2d(f)),
            ("relu1", nn.ReLU(0.2)),
            ("conv2", nn.Conv2d(f, 2 * f, kernel_size=4, stride=2, padding=1)),
            ("bn2", nn.BatchNorm2d(2 * f)),
            ("relu2", nn.ReLU(0.2)),
            ("conv3", nn.Conv2d(2 * f, 4 * f, kernel_size=4, stride=2, padding=1)),
            ("bn3", nn.BatchNorm2d(4 * f)),
            ("relu3", nn.ReLU(0.2)),
        ]))
        self.decode_layer = nn.Sequential(OrderedDict([
            ("deconv1", nn.ConvTranspose2d(4 * f, 2 * f, kernel_size=4, stride=2, padding=1)),
            ("deconv1_bn", nn.BatchNorm2d(2 * f)),
            ("leakyrelu1", nn.LeakyReLU(0.2)),
            ("deconv2", nn.ConvTranspose2d(2 * f, f, kernel_size=4, stride=2, padding=1)),
            ("deconv2_bn", nn.BatchNorm2d(f)),
            ("leakyrelu1", nn.LeakyReLU(0.2)),
            ("deconv3", nn.ConvTranspose2d(f, 3, kernel_size=4, stride=2, padding=1)),
            ("tanh3", nn.Tanh()),
        ]))  # fmt: skip
        self.fc1 = nn.Linear(4 * f * 8 * 8, latent)  # to mu
        self.fc2 = nn.Linear(4 * f * 8 * 8, latent)  # to the second output
        self.d1 = nn.Linear(latent, 4 * f * 8 * 8)  # code back to feature maps
        self.z_size = latent
        self.d_max = 4 * f

    def encode(self, x):
        """The encoder. Returns mu, the learned mean, and sigma, the learned standard
        deviation (log variance)."""
        x = self.encode_layer(x)
        x = x.view(x.shape[0], -1)
        return self.fc1(x), self.fc2(x)

    def reparameterize(self, mu, log_var):
        """Gaussian noise combined with the encoder's mean (mu) and standard deviation (sigma)."""
        # BEGIN ANSWER celeba_vae/reparameterize
        std = torch.exp(0.5 * log_var)
        eps = torch.randn_like(std)
        return eps.mul(std).add_(mu)
        # END ANSWER celeba_vae/reparameterize

    def decode(self, x):
        """The decoder: a code to an image."""
        x = x.view(x.shape[0], self.z_size)
        x = self.d1(x)
        x = x.view(x.shape[0], self.d_max, 8, 8)
        return self.decode_layer(x)

    def forward(self, x):
        mu, log_var = self.encode(x)
        mu = mu.squeeze()
        log_var = log_var.squeeze()
        z = self.reparameterize(mu, log_var)
        return self.decode(z.view(-1, self.z_size, 1, 1)), mu, log_var


def loss_function(recon_x, x, mu, logvar):
    """Reconstruction loss (MSE) plus the KL divergence.

    mu: the mean; logvar: sigma, the standard deviation.
    """
    # BEGIN ANSWER celeba_vae/loss_function
    kld_weight = 1
    recons_loss = F.mse_loss(recon_x, x, reduction="sum")
    kld_loss = torch.sum(-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1), dim=0)
    return recons_loss + kld_weight * kld_loss
    # END ANSWER celeba_vae/loss_function


def to_image(x):
    """Make an image tensor displayable."""
    return x.clamp(0, 1)


def set_up(filters: int = FILTERS, latent: int = LATENT, lr: float = 5e-4):
    """The original's set-up: a device, the model and its optimizer."""
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    vae = OriginalVAE(filters, latent).cuda()
    optimizer = torch.optim.Adam(vae.parameters(), lr=lr, betas=(0.5, 0.999), weight_decay=1e-5)
    return device, vae, optimizer


def make_loader(dataset: Dataset, batch_size: int = 32) -> DataLoader:
    """The original's DataLoader: shuffled batches of ``dataset``, one worker process."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=1)


def train(vae, train_loader, optimizer, device, epochs: int = 10, max_steps: int | None = None):
    """The original's training loop (``max_steps``, batches per epoch, added for the course)."""
    vae.train()
    for epoch in range(epochs):
        running_train_loss = 0
        for idx, data in enumerate(train_loader):
            if max_steps is not None and idx >= max_steps:
                break
            image = Variable(data[0]).to(device)
            # BEGIN ANSWER celeba_vae/train_step
            optimizer.zero_grad()
            recon_images, mu, log_var = vae(image)
            loss = loss_function(recon_images, image, mu, log_var)
            loss.backward()
            optimizer.step()
            # END ANSWER celeba_vae/train_step
            running_train_loss += loss.item()
        train_loss_value = running_train_loss / len(train_loader.dataset)
        print(f"Epoch[{epoch + 1}/{epochs}] Loss (Reconstruction + KLD): {train_loss_value:.3f}")


def reconstruct(vae, train_loader, device):
    """The original's evaluation: a batch of the loader and its reconstructions."""
    vae.eval()
    images, _ = next(iter(train_loader))
    with torch.no_grad():
        reconstructions, _, _ = vae(images.to(device))
    return to_image(images), to_image(reconstructions.cpu())
