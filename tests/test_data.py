"""Data loaders: the local folder, clear errors, the ci-only synthetic fallback, subsets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from vaecourse import config, data

SHARED = Path(os.environ.get("VAECOURSE_DATA") or Path(__file__).parents[2] / "shared" / "data")


def _write_mnist(folder: Path, n_train: int = 30, n_test: int = 12) -> dict:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    np.savez(folder / "mnist.npz", **arrays)
    return arrays


@pytest.mark.parametrize("loader, filename", [(data.load_mnist, "mnist.npz"),
                                              (data.load_cifar10, "cifar10_subset.npz")])
@pytest.mark.parametrize("profile", ["ci", "full"])
def test_empty_data_folder_is_a_clear_error(tmp_path, monkeypatch, loader, filename, profile):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path))
    monkeypatch.setenv(config.PROFILE_ENV, profile)
    with pytest.raises(data.DataNotFoundError) as info:
        loader()
    message = str(info.value)
    assert config.DATA_ENV in message and filename in message and str(tmp_path) in message


def test_missing_folder_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match=config.DATA_ENV):
        data.load_mnist()


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_subsets_read_only_the_rows_they_need_and_equal_the_head_of_the_whole(tmp_path, monkeypatch, save):
    arrays = _write_mnist(tmp_path, n_train=30, n_test=12)
    save(tmp_path / "mnist.npz", **arrays)
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path))
    for max_train, max_test in [(None, None), (5, 3), (0, 12), (100, 1), (-2, None)]:
        (x, y), (xt, yt) = data.load_mnist(max_train=max_train, max_test=max_test)
        for got, key, limit in [(x, "x_train", max_train), (y, "y_train", max_train),
                                (xt, "x_test", max_test), (yt, "y_test", max_test)]:  # fmt: skip
            expected = arrays[key] if limit is None else arrays[key][:limit]
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)
            assert got.flags.writeable
    truncated = {**arrays, "x_train": np.asfortranarray(arrays["x_train"][:4].transpose(0, 2, 1))}
    save(tmp_path / "mnist.npz", **truncated)  # Fortran order: read whole, then cut
    np.testing.assert_array_equal(data.load_mnist(max_train=2)[0][0], truncated["x_train"][:2])


def test_npz_without_the_arrays(tmp_path, monkeypatch):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path))
    with pytest.raises(data.DataNotFoundError, match="y_test"):
        data.load_mnist()
    (tmp_path / "mnist.npz").write_bytes(b"<html>a download error page</html>")
    with pytest.raises(data.DataNotFoundError, match="not an .npz archive"):
        data.load_mnist()


def _no_network(monkeypatch):
    def fail(source):
        raise OSError("no network (test)")

    monkeypatch.delenv(config.DATA_ENV, raising=False)
    monkeypatch.setattr(data, "_from_keras", fail)


def test_ci_profile_falls_back_to_synthetic_data_loudly(monkeypatch, capsys):
    _no_network(monkeypatch)
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    with pytest.warns(RuntimeWarning, match="synthetic"):
        (x_train, y_train), (x_test, y_test) = data.load_mnist(max_train=100)
    assert "SYNTHETIC" in capsys.readouterr().err
    assert x_train.shape == (100, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (100,) and x_test.shape[1:] == (28, 28)
    with pytest.warns(RuntimeWarning):
        (xc, yc), _ = data.load_cifar10(max_train=8)
    assert xc.shape == (8, 32, 32, 3) and yc.shape == (8, 1)


def test_full_profile_never_falls_back(monkeypatch):
    _no_network(monkeypatch)
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    with pytest.raises(data.DataNotFoundError, match=config.DATA_ENV):
        data.load_mnist()


def test_subset_limits_keep_the_first_rows(tmp_path, monkeypatch):
    arrays = _write_mnist(tmp_path)
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path))
    (x_train, y_train), (x_test, y_test) = data.load_mnist(max_train=7, max_test=5)
    np.testing.assert_array_equal(x_train, arrays["x_train"][:7])
    np.testing.assert_array_equal(y_train, arrays["y_train"][:7])
    np.testing.assert_array_equal(x_test, arrays["x_test"][:5])
    (x_all, _), (x_test_all, _) = data.load_mnist()
    assert len(x_all) == 30 and len(x_test_all) == 12


@pytest.mark.skipif(not (SHARED / "mnist.npz").is_file(), reason="no local real data")
def test_real_local_data(monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(SHARED))
    (x, y), (xt, yt) = data.load_mnist(max_train=500, max_test=100)
    assert x.shape == (500, 28, 28) and x.dtype == np.uint8 and xt.shape == (100, 28, 28)
    assert set(np.unique(y)) == set(range(10))
    (xc, yc), _ = data.load_cifar10(max_train=300)
    assert xc.shape == (300, 32, 32, 3) and yc.shape == (300, 1)
    assert x.max() > 200  # real digits, not blobs scaled down


def _write_cifar10(folder: Path, n_train: int = 7, n_test: int = 3) -> dict:
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        "y_train": rng.integers(0, 10, (n_train, 1), dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        "y_test": rng.integers(0, 10, (n_test, 1), dtype=np.uint8),
    }
    np.savez(folder / "cifar10_subset.npz", **arrays)
    return arrays


def test_pad_split_repeats_rows_in_order():
    x, y = np.arange(3)[:, None] * np.ones((3, 2)), np.array([5, 6, 7])
    px, py = data.pad_split((x, y), 8)
    np.testing.assert_array_equal(py, [5, 6, 7, 5, 6, 7, 5, 6])
    np.testing.assert_array_equal(px[:, 0], [0, 1, 2, 0, 1, 2, 0, 1])
    assert data.pad_split((x, y), 2)[0] is x  # long enough: unchanged
    with pytest.raises(ValueError, match="nothing"):
        data.pad_split((x[:0], y[:0]), 4)


def test_cifar10_is_padded_to_the_real_sizes_only_when_asked(tmp_path, monkeypatch, capsys):
    arrays = _write_cifar10(tmp_path)
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path))
    monkeypatch.delenv(config.PAD_ENV, raising=False)
    (x, y), (xt, yt) = data.load_cifar10()
    assert (len(x), len(xt)) == (7, 3)
    monkeypatch.setenv(config.PAD_ENV, "1")
    (x, y), (xt, yt) = data.load_cifar10()
    assert x.shape == (50_000, 32, 32, 3) and y.shape == (50_000, 1) and x.dtype == np.uint8
    assert xt.shape == (10_000, 32, 32, 3) and yt.shape == (10_000, 1)
    np.testing.assert_array_equal(x[:7], arrays["x_train"])
    np.testing.assert_array_equal(x[7:14], arrays["x_train"])  # repeated in order
    np.testing.assert_array_equal(y[-1], arrays["y_train"][(50_000 - 1) % 7])
    np.testing.assert_array_equal(xt[9_999], arrays["x_test"][9_999 % 3])
    assert "pads the local 7 training / 3 test images to 50,000 / 10,000" in capsys.readouterr().err
    (x, _), (xt, _) = data.load_cifar10(max_train=20, max_test=5)  # the subset limits still apply
    assert (len(x), len(xt)) == (20, 5)


@pytest.mark.skipif(not (SHARED / "cifar10_subset.npz").is_file(), reason="no local real data")
def test_real_local_cifar10_padded(monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(SHARED))
    monkeypatch.delenv(config.PAD_ENV, raising=False)
    (x, y), (xt, yt) = data.load_cifar10()
    assert (len(x), len(xt)) == (5_438, 1_017)
    monkeypatch.setenv(config.PAD_ENV, "1")
    (xp, yp), (xtp, ytp) = data.load_cifar10()
    assert (len(xp), len(xtp)) == (50_000, 10_000)
    np.testing.assert_array_equal(xp[5_438:5_438 * 2], x)
    np.testing.assert_array_equal(ytp[:1_017], yt)


def test_preprocess_images():
    images = np.array([[[0, 127], [128, 255]]], np.uint8)
    binary = data.preprocess_images(images)
    assert binary.shape == (1, 2, 2, 1) and binary.dtype == np.float32
    np.testing.assert_array_equal(binary[0, ..., 0], [[0, 0], [1, 1]])
    grey = data.preprocess_images(images, binarize=False)
    np.testing.assert_allclose(grey[0, ..., 0], images[0] / 255.0)
    colour = data.preprocess_images(np.zeros((2, 4, 4, 3), np.uint8), binarize=False)
    assert colour.shape == (2, 4, 4, 3)


def test_one_per_class():
    np.testing.assert_array_equal(data.one_per_class(np.array([1, 0, 1, 2, 0]), 3), [1, 0, 3])
    with pytest.raises(ValueError, match="class 2"):
        data.one_per_class(np.array([0, 1]), 3)


def test_profiles(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    assert config.get_profile().pick(full=10, ci=1) == 1
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    assert config.get_profile().pick(full=10, ci=1) == 10
    monkeypatch.setenv(config.PROFILE_ENV, "fast")
    with pytest.raises(ValueError, match=config.PROFILE_ENV):
        config.get_profile()
