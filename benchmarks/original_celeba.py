"""A stand-in for torchvision's ``ImageFolder`` as the original CelebA notebook used it.

The original's model, loss and loop are in ``vaecourse.torch.original``; torchvision is
not available here, so this re-creates its data set: a Python list of ``(path, 0)``
pairs (every image in one class) and PIL decoding in ``__getitem__``, with the same
``Resize(64) -> CenterCrop(64) -> ToTensor() -> Normalize(0.5, 0.5)`` transform.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import Dataset
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
