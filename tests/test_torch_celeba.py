"""The PyTorch side of CelebA (vaecourse.torch.celeba): tensors, loaders, workers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from vaecourse import celeba as faces
from vaecourse.torch import celeba


@pytest.fixture(scope="module")
def real_root() -> Path:
    if not os.environ.get("VAECOURSE_DATA"):
        pytest.skip("VAECOURSE_DATA is not set (the real CelebA subset is needed)")
    return faces.locate()


def test_items_are_tensors_of_the_framework_free_faces(real_root: Path) -> None:
    data = celeba.CelebA(real_root, "test", max_images=10)
    plain = faces.Faces(real_root, "test", max_images=10)
    image, attributes = data[3]
    assert image.dtype == torch.float32 and image.shape == (3, 64, 64)
    assert attributes.dtype == torch.int64 and attributes.shape == (40,)
    np.testing.assert_array_equal(image.numpy(), plain[3][0])
    assert attributes.tolist() == plain[3][1].tolist()
    assert isinstance(data, torch.utils.data.Dataset) and data.has("Smiling").shape == (10,)


def test_loader_with_workers(real_root: Path) -> None:
    data = celeba.CelebA(real_root, "test", max_images=10)
    batches = list(celeba.make_loader(data, batch_size=4, shuffle=True, num_workers=1, seed=3))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    again = list(celeba.make_loader(data, batch_size=4, shuffle=True, num_workers=0, seed=3))
    assert torch.equal(batches[0][0], again[0][0]), "seeded shuffling"


def test_a_padded_loader_has_the_real_number_of_batches(real_root: Path) -> None:
    data = celeba.CelebA(real_root, "train", pad_to_full=True)
    loader = celeba.make_loader(data, batch_size=32, num_workers=0)
    assert len(loader) == -(-182_339 // 32)
    x, _ = next(iter(loader))
    assert x.shape == (32, 3, 64, 64)
