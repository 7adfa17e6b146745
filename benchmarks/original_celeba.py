"""The original CelebA VAE assignment's code, re-created with its bugs (for the benchmark).

Kept as the original notebook wrote it (PyTorch 0.3 style), so that
``celeba_torch.py`` can compare the reference implementation with it on the same
machine, and so that the notebook's "what is wrong" question has a runnable source.
The original used ``torchvision.datasets.ImageFolder`` with ``Resize(64)``,
``CenterCrop(64)``, ``ToTensor()``, ``Normalize(0.5, 0.5)``; torchvision is not
available here, so :class:`ImageFolder` below re-creates it (a Python list of
``(path, label)`` tuples, PIL decoding in ``__getitem__``) with the same transform.

Its known defects (the reference fixes all of them):

* the decoder's ``OrderedDict`` reuses the key ``'leakyrelu1'``: the second entry
  replaces the first, so the decoder silently has one activation fewer;
* ``nn.ReLU(0.2)`` passes 0.2 as ``inplace``, not as a slope: a plain ReLU;
* ``to_image`` clamps a tanh output to [0, 1] and hides half of its range;
* ``mu.squeeze()`` turns a batch of one into a vector and ``decode`` then fails;
* the docstrings call the log-variance "sigma";
* ``Variable`` is obsolete since PyTorch 0.4;
* the training loop reads ``loss.item()`` every step (a GPU sync) and the loader has
  no workers (images are decoded in the training process).
"""

# ruff: noqa: UP008, UP032  (the original's style, on purpose)
from __future__ import annotations

import os
from collections import OrderedDict

import torch
from torch import nn
from torch.autograd import Variable
from torch.utils.data import DataLoader, Dataset
from vaecourse.celeba import load_image


class ImageFolder(Dataset):
    """torchvision's ImageFolder as the original used it: every image has label 0."""

    def __init__(self, root: str) -> None:
        folder = os.path.join(root, "img_align_celeba")
        self.samples = [(os.path.join(folder, name), 0) for name in sorted(os.listdir(folder))]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        return torch.from_numpy(load_image(path)), label


class VAE(nn.Module):
    def __init__(self, nc=3, ngf=64, ndf=64, latent_variable_size=512):
        super(VAE, self).__init__()
        self.nc = nc
        self.ngf = ngf
        self.ndf = ndf
        self.latent_variable_size = latent_variable_size

        self.encoder = nn.Sequential(OrderedDict([
            ('conv1', nn.Conv2d(nc, ndf, 4, 2, 1)),
            ('bn1', nn.BatchNorm2d(ndf)),
            ('leakyrelu1', nn.LeakyReLU(0.2)),
            ('conv2', nn.Conv2d(ndf, ndf * 2, 4, 2, 1)),
            ('bn2', nn.BatchNorm2d(ndf * 2)),
            ('leakyrelu2', nn.LeakyReLU(0.2)),
            ('conv3', nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1)),
            ('bn3', nn.BatchNorm2d(ndf * 4)),
            ('leakyrelu3', nn.ReLU(0.2)),
        ]))
        self.fc1 = nn.Linear(ndf * 4 * 8 * 8, latent_variable_size)
        self.fc2 = nn.Linear(ndf * 4 * 8 * 8, latent_variable_size)

        self.d1 = nn.Linear(latent_variable_size, ngf * 4 * 8 * 8)
        self.decoder = nn.Sequential(OrderedDict([
            ('deconv1', nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1)),
            ('bn1', nn.BatchNorm2d(ngf * 2)),
            ('leakyrelu1', nn.LeakyReLU(0.2)),
            ('deconv2', nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1)),
            ('bn2', nn.BatchNorm2d(ngf)),
            ('leakyrelu1', nn.LeakyReLU(0.2)),
            ('deconv3', nn.ConvTranspose2d(ngf, nc, 4, 2, 1)),
            ('tanh', nn.Tanh()),
        ]))  # fmt: skip

    def encode(self, x):
        """Returns mu and sigma of q(z|x)."""
        h = self.encoder(x).view(-1, self.ndf * 4 * 8 * 8)
        return self.fc1(h), self.fc2(h)

    def reparametrize(self, mu, logvar):
        """Samples z from N(mu, sigma)."""
        std = logvar.mul(0.5).exp_()
        eps = Variable(torch.FloatTensor(std.size()).normal_()).to(mu.device)
        return eps.mul(std).add_(mu)

    def decode(self, z):
        h = self.d1(z).view(z.size(0), self.ngf * 4, 8, 8)
        return self.decoder(h)

    def forward(self, x):
        mu, logvar = self.encode(x)
        mu, logvar = mu.squeeze(), logvar.squeeze()
        z = self.reparametrize(mu, logvar)
        return self.decode(z), mu, logvar


reconstruction_function = nn.MSELoss(reduction='sum')  # size_average=False in the original


def loss_function(recon_x, x, mu, logvar):
    MSE = reconstruction_function(recon_x, x)
    # KLD = -0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    KLD_element = mu.pow(2).add_(logvar.exp()).mul_(-1).add_(1).add_(logvar)
    KLD = torch.sum(KLD_element).mul_(-0.5)
    return MSE + KLD


def to_image(x):
    """Turns a generated image tensor into something plt.imshow can display."""
    return x.clamp(0, 1).permute(1, 2, 0).detach().cpu().numpy()


def make_training(root: str, device: torch.device, batch_size: int = 32):
    """The original's set-up: ImageFolder, a DataLoader without workers, Adam."""
    dataset = ImageFolder(root)
    train_loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    model = VAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.5, 0.999), weight_decay=1e-5)
    return model, optimizer, train_loader


def train(epoch, model, optimizer, train_loader, device, log_interval=100, max_steps=None):
    """The original's training loop (``max_steps`` added for the benchmark)."""
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        if max_steps is not None and batch_idx >= max_steps:
            break
        data = Variable(data).to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item() / len(data)))
    print('====> Epoch: {} Average loss: {:.4f}'.format(
        epoch, train_loss / len(train_loader.dataset)))
    return train_loss
