"""CelebA for PyTorch: :class:`CelebA` (a ``Dataset`` of tensors) and :func:`make_loader`.

Everything but the tensors is framework-free and lives in :mod:`vaecourse.celeba`
(where the faces come from, the image pipeline, the attributes, padding).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .. import config
from ..celeba.faces import Faces


class CelebA(Faces, Dataset):
    """CelebA faces as ``(image, attributes)`` tensor pairs, read from disk item by item.

    ``image`` is a float32 tensor ``(3, 64, 64)`` in [-1, 1], ``attributes`` an int64
    tensor of 40 zeros and ones. The arguments are those of
    :class:`vaecourse.celeba.Faces` (``root``, ``split``, ``max_images``, ...).
    """

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, attributes = Faces.__getitem__(self, index)
        return torch.from_numpy(image), torch.from_numpy(attributes)


def make_loader(
    dataset: Dataset,
    batch_size: int = 32,
    shuffle: bool = True,
    num_workers: int | None = None,
    seed: int | None = 0,
) -> DataLoader:
    """A DataLoader that decodes images in worker processes and pins memory for a GPU.

    Args:
        num_workers: default 0 in the ``ci`` profile (starting workers costs more than
            a few batches) and ``min(4, CPU count)`` otherwise.
        seed: seeds the shuffling (None: not seeded); :func:`vaecourse.torch.training.fit`
            saves and restores this generator in its checkpoints.
    """
    if num_workers is None:
        num_workers = config.get_profile().pick(full=min(4, os.cpu_count() or 1), ci=0)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
        generator=generator,
        worker_init_fn=_seed_worker,
        drop_last=False,
    )


def _seed_worker(worker_id: int) -> None:
    """Give each worker's NumPy a seed derived from PyTorch's per-worker seed."""
    np.random.seed(torch.initial_seed() % 2**32)
