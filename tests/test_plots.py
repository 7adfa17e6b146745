"""The shared figures: grid layout by value, PCA projection, manifold grid, curves."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from vaecourse import plots

matplotlib.use("Agg")


def test_image_grid_places_each_image(rng):
    images = np.stack([np.full((3, 2), i / 10, np.float32) for i in range(5)])
    grid = plots.image_grid(images, nrow=2, pad=1, pad_value=1.0)
    assert grid.shape == (3 * 4 + 1, 2 * 3 + 1)  # 3 rows of 2, grayscale -> 2-D
    for i in range(5):
        r, c = divmod(i, 2)
        tile = grid[1 + r * 4: 1 + r * 4 + 3, 1 + c * 3: 1 + c * 3 + 2]
        np.testing.assert_allclose(tile, i / 10)
    assert np.all(grid[0] == 1.0) and np.all(grid[:, 0] == 1.0)  # padding
    assert np.all(grid[9:12, 4:6] == 1.0)  # the empty sixth cell


def test_image_grid_colour_uint8_and_value_range():
    colour = np.zeros((4, 2, 2, 3), np.uint8)
    colour[..., 0] = 255
    grid = plots.image_grid(colour, pad=0)
    assert grid.shape == (4, 4, 3)
    np.testing.assert_allclose(grid[..., 0], 1.0)
    np.testing.assert_allclose(grid[..., 1], 0.0)
    signed = -np.ones((1, 2, 2, 3), np.float32)
    np.testing.assert_allclose(plots.image_grid(signed, pad=0, value_range=(-1, 1)), 0.0)
    assert plots.image_grid(np.full((2, 2, 2, 1), 7.0), pad=0).max() == 1.0  # clipped


@pytest.mark.parametrize("shape", [(5, 2, 2, 2), (2, 2, 2, 2, 1)])
def test_bad_image_shapes(shape):
    with pytest.raises(ValueError, match="NHWC"):
        plots.image_grid(np.zeros(shape))


def test_show_images_with_titles(rng):
    fig = plots.show_images(rng.random((5, 8, 8)), titles=list("abcde"), nrow=3, title="T")
    axes = fig.axes
    assert len(axes) == 6
    assert [ax.get_title() for ax in axes[:5]] == list("abcde")
    assert fig._suptitle.get_text() == "T"
    with pytest.raises(ValueError, match="titles"):
        plots.show_images(rng.random((2, 8, 8)), titles=["one"])
    assert len(plots.show_images(rng.random((9, 8, 8, 3))).axes) == 1


def test_show_one_per_class_picks_the_first_of_each_class():
    labels = np.array([2, 0, 1, 0, 2, 1])
    images = np.stack([np.full((4, 4), i / 10) for i in range(6)])
    fig = plots.show_one_per_class(images, labels.reshape(-1, 1), class_names=["a", "b", "c"])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["a", "b", "c"]
    shown = [ax.images[0].get_array().mean() for ax in fig.axes]
    np.testing.assert_allclose(shown, [0.1, 0.2, 0.0])  # first indices 1, 2, 0


def test_show_reconstructions_rows(rng):
    a, b = rng.random((12, 6, 6, 1)), rng.random((12, 6, 6, 1))
    fig = plots.show_reconstructions(a, b, n=4)
    assert len(fig.axes) == 8
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), a[0, ..., 0])
    np.testing.assert_allclose(fig.axes[4].images[0].get_array(), b[0, ..., 0])
    with pytest.raises(ValueError, match="shape"):
        plots.show_reconstructions(a, b[:, :5])


def test_pca_2d_recovers_a_plane(rng):
    coords = rng.normal(size=(200, 2)) * [3.0, 1.0]
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0].T  # orthonormal rows
    z = coords @ basis + 5.0
    proj, explained = plots.pca_2d(z)
    np.testing.assert_allclose(explained.sum(), 1.0, atol=1e-9)
    assert explained[0] > explained[1]
    # an isometry of the centred data: pairwise distances are kept
    d = lambda a: np.linalg.norm(a[:, None] - a[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(proj), d(coords), atol=1e-8)


def test_plot_latent_scatter(rng):
    z2, labels = rng.normal(size=(50, 2)), rng.integers(0, 3, 50)
    fig = plots.plot_latent_scatter(z2, labels, class_names=["x", "y", "z"])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "z[0]"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y", "z"]
    offsets = np.concatenate([c.get_offsets() for c in ax.collections])
    np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(z2[:, 0]))
    fig = plots.plot_latent_scatter(rng.normal(size=(50, 5)), labels)
    assert "PC 1" in fig.axes[0].get_xlabel() and "PCA" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="labels"):
        plots.plot_latent_scatter(z2, labels[:10])


def test_plot_latent_scatter_colours_each_point_by_its_class_and_hides_no_class():
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1, 2], 200)  # sorted: drawn in this order, class 2 would cover the others
    z = rng.normal(size=(600, 2))
    ax = plots.plot_latent_scatter(z, labels).axes[0]
    (scatter,) = ax.collections
    offsets, colours = np.asarray(scatter.get_offsets()), scatter.get_facecolors()[:, :3]
    # every point keeps its own class's colour, wherever it is drawn
    rows = {tuple(p): c for p, c in zip(z, labels, strict=True)}
    palette = {}
    for point, colour in zip(offsets, colours, strict=True):
        palette.setdefault(rows[tuple(point)], set()).add(tuple(np.round(colour, 4)))
    assert all(len(c) == 1 for c in palette.values()) and len(set().union(*palette.values())) == 3
    # the classes are interleaved: each third of the drawing order holds all three classes
    drawn = np.array([rows[tuple(p)] for p in offsets])
    assert all(np.bincount(third, minlength=3).min() > 40 for third in np.split(drawn, 3))
    assert scatter.get_alpha() is not None and scatter.get_alpha() <= 0.5
    # the legend keeps solid markers, one per class; the same figure every time
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
    again = plots.plot_latent_scatter(z, labels).axes[0].collections[0]
    np.testing.assert_array_equal(np.asarray(again.get_offsets()), offsets)
    matplotlib.pyplot.close("all")


def test_plot_latent_manifold_grid_order():
    calls = []

    def decode(z):
        calls.append(z)
        return np.repeat((z[:, :1] + 2.0) / 4.0, 16, axis=1).reshape(-1, 4, 4, 1)

    fig = plots.plot_latent_manifold(decode, n=3, span=2.0, image_shape=(4, 4, 1))
    z = calls[0]
    assert z.shape == (9, 2) and z.dtype == np.float32
    np.testing.assert_allclose(z[0], [-2.0, 2.0])  # top left: z0 = -span, z1 = +span
    np.testing.assert_allclose(z[-1], [2.0, -2.0])  # bottom right
    grid = fig.axes[0].images[0].get_array()
    assert grid.shape == (12, 12)
    np.testing.assert_allclose(grid[0, :4], 0.0)  # z0 = -2 -> 0 (left column)
    np.testing.assert_allclose(grid[0, 8:], 1.0)  # z0 = +2 -> 1 (right column)
    with pytest.raises(ValueError, match="decode_fn"):
        plots.plot_latent_manifold(lambda z: np.zeros((4, 4, 4, 1)), n=3, image_shape=(4, 4, 1))


def test_show_interpolation_and_training_curves(rng):
    fig = plots.show_interpolation(rng.random((7, 5, 5, 3)))
    assert len(fig.axes) == 7 and fig.axes[0].get_title() == "start"
    fig = plots.plot_training_curves({"train_loss": [3, 2, 1], "test_elbo": [-4, -3, -2],
                                      "epoch_time": [1.0, 1.0, 1.0]})
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[1].get_ydata(), [4, 3, 2])  # plotted as -ELBO
    with pytest.raises(ValueError, match="history"):
        plots.plot_training_curves({})


def test_layout_is_computed_when_a_figure_is_drawn(rng):
    """Tight layout runs at draw time: a figure never drawn (grading) costs no layout."""
    from matplotlib.layout_engine import TightLayoutEngine

    images = rng.random((4, 6, 6))
    figures = [plots.show_images(images), plots.show_images(images, titles=list("abcd")),
               plots.show_reconstructions(images, images), plots.plot_latent_scatter(rng.random((8, 2)), [0, 1] * 4),
               plots.plot_latent_manifold(lambda z: np.zeros((len(z), 6, 6)), n=3, image_shape=(6, 6)),
               plots.show_interpolation(images), plots.plot_training_curves({"train_loss": [2.0, 1.0]})]  # fmt: skip
    for fig in figures:
        assert isinstance(fig.get_layout_engine(), TightLayoutEngine)
    fig = figures[-1]
    before = fig.subplotpars.left
    fig.canvas.draw()
    assert fig.subplotpars.left != before  # laid out by the draw


def test_display_closes_figures_in_scripts(rng):
    import matplotlib.pyplot as plt

    fig = plots.show_images(rng.random((4, 3, 3)))
    plots.display(fig)
    assert not plt.fignum_exists(fig.number)
