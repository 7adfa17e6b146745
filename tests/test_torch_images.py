"""Image grids and display (vaecourse.torch.images) and latent-space helpers (latent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vaecourse.torch import images, latent


def test_make_grid_places_every_image() -> None:
    batch = torch.arange(5, dtype=torch.float32).view(5, 1, 1, 1).expand(5, 2, 2, 2).contiguous()
    grid = images.make_grid(batch, nrow=3, padding=1, pad_value=-7.0)
    assert grid.shape == (2, 1 + 2 * 3, 1 + 3 * 3)
    expected = torch.full((2, 7, 10), -7.0)
    for k in range(5):
        r, c = divmod(k, 3)
        expected[:, 1 + 3 * r : 3 + 3 * r, 1 + 3 * c : 3 + 3 * c] = k
    assert torch.equal(grid, expected)


def test_make_grid_with_fewer_images_than_a_row() -> None:
    grid = images.make_grid(torch.zeros(2, 3, 4, 4), nrow=8, padding=2)
    assert grid.shape == (3, 8, 14)


def test_to_image_undoes_the_normalization_instead_of_clamping() -> None:
    x = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]).view(1, 5, 1).expand(3, 5, 1)
    out = images.to_image(x)
    assert out.shape == (5, 1, 3)
    np.testing.assert_allclose(out[:, 0, 0], [0.0, 0.25, 0.5, 0.75, 1.0])
    batch = images.to_image(torch.zeros(2, 3, 4, 5))
    assert batch.shape == (2, 4, 5, 3)


def test_show_images_draws_the_grid() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = images.show_images(torch.rand(6, 3, 8, 8) * 2 - 1, nrow=3, title="faces")
    assert ax.get_title() == "faces"
    shown = ax.get_images()[0].get_array()
    assert shown.shape == (2 + 2 * 10, 2 + 3 * 10, 3)
    fig = images.show_rows({"a": torch.zeros(4, 3, 8, 8), "b": torch.ones(4, 3, 8, 8)})
    assert len(fig.axes) == 2


def test_interpolate_runs_in_a_straight_line() -> None:
    z0, z1 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    path = latent.interpolate(z0, z1, steps=5)
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    np.testing.assert_allclose(path[2].numpy(), [2.0, 0.0])
    np.testing.assert_allclose(np.diff(path.numpy(), axis=0), np.tile([[1.0, -1.0]], (4, 1)))


def test_attribute_direction_is_the_difference_of_means() -> None:
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(10, 3))
    mask = np.array([1, 0, 1, 1, 0, 0, 0, 1, 0, 0])
    direction = latent.attribute_direction(torch.tensor(codes), torch.tensor(mask))
    expected = codes[mask == 1].mean(0) - codes[mask == 0].mean(0)
    np.testing.assert_allclose(direction.numpy(), expected)
    with pytest.raises(ValueError, match="with and without"):
        latent.attribute_direction(torch.tensor(codes), torch.ones(10))


def test_encode_dataset_returns_means_in_order() -> None:
    from vaecourse.torch import models

    torch.manual_seed(0)
    model = models.VAE(models.Decoder(4, 4), models.reparameterize, 4, 4).eval()
    x = torch.rand(5, 3, 64, 64) * 2 - 1
    batches = [(x[:3], torch.tensor([0, 1, 2])), (x[3:], torch.tensor([3, 4]))]
    codes, labels = latent.encode_dataset(model, batches)
    with torch.no_grad():
        expected = model.encode(x)[0]
    torch.testing.assert_close(codes, expected)
    assert labels.tolist() == [0, 1, 2, 3, 4]
