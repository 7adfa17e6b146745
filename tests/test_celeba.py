"""The CelebA image-folder dataset (vaecourse.celeba): preprocessing, attributes, sources."""

from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from vaecourse import celeba, config
from vaecourse.data import DataNotFoundError

RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def _banded(width: int, height: int) -> Image.Image:
    """Green, with red/blue bands at the top/bottom 7% (cropped away) and yellow at the sides."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:] = GREEN
    band = round(0.07 * height)
    pixels[:band] = RED
    pixels[height - band :] = BLUE
    stripe = round(0.06 * width)
    pixels[:, :stripe] = YELLOW
    pixels[:, width - stripe :] = YELLOW
    return Image.fromarray(pixels)


def _normalized(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.array(rgb, dtype=np.float32) / 127.5 - 1


@pytest.mark.parametrize("size", [(178, 218), (89, 109)])
def test_preprocess_resizes_center_crops_and_normalizes(size: tuple[int, int]) -> None:
    out = celeba.preprocess(_banded(*size))
    assert out.shape == (3, 64, 64) and out.dtype == np.float32
    assert out.min() >= -1.0 and out.max() <= 1.0
    pixels = out.transpose(1, 2, 0)
    # the vertical crop removes the red and blue bands completely ...
    for colour in (RED, BLUE):
        assert not np.isclose(pixels, _normalized(colour), atol=0.1).all(-1).any()
    # ... and keeps green in the centre rows, and both yellow stripes at the sides
    np.testing.assert_allclose(pixels[2:-2, 10:-10], np.broadcast_to(_normalized(GREEN), (60, 44, 3)), atol=1e-6)
    for column in (0, 1, -1, -2):
        np.testing.assert_allclose(pixels[5:-5, column], np.broadcast_to(_normalized(YELLOW), (54, 3)), atol=0.02)


def test_resize_keeps_the_aspect_ratio_like_torchvision() -> None:
    sizes = {(178, 218): (64, 78), (89, 109): (64, 78), (300, 200): (96, 64), (64, 64): (64, 64)}
    for size, expected in sizes.items():
        assert celeba.resize_shorter_side(Image.new("RGB", size), 64).size == expected


def test_center_crop_offsets() -> None:
    ramp = np.arange(78, dtype=np.uint8)[:, None, None].repeat(64, 1).repeat(3, 2)
    cropped = np.asarray(celeba.center_crop(Image.fromarray(ramp), 64))
    assert cropped[0, 0, 0] == 7 and cropped[-1, 0, 0] == 70  # (78 - 64) / 2 rows off each side
    odd = np.arange(65, dtype=np.uint8)[:, None, None].repeat(64, 1).repeat(3, 2)
    assert np.asarray(celeba.center_crop(Image.fromarray(odd), 64))[0, 0, 0] == 0  # round(0.5) = 0
    with pytest.raises(ValueError, match="cannot crop"):
        celeba.center_crop(Image.new("RGB", (63, 80)), 64)


@pytest.mark.parametrize("value,expected", [(0, -1.0), (255, 1.0), (51, 51 / 127.5 - 1)])
def test_normalization_maps_pixels_to_minus_one_one(value: int, expected: float) -> None:
    out = celeba.preprocess(Image.new("RGB", (178, 218), (value,) * 3))
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_grayscale_images_become_rgb() -> None:
    assert celeba.preprocess(Image.new("L", (89, 109), 128)).shape == (3, 64, 64)


# ----------------------------------------------------------------- the real subset


@pytest.fixture(scope="module")
def real_root() -> Path:
    if not os.environ.get(config.DATA_ENV):
        pytest.skip(f"{config.DATA_ENV} is not set (the real CelebA subset is needed)")
    return celeba.locate()


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as tar:
        return tar.extractfile(name).read()


def _real_attributes(root: Path) -> celeba.Attributes:
    if root.is_file():
        return celeba.parse_attributes(_member(root, celeba.ATTRIBUTES_FILE).decode())
    return celeba.read_attributes(root / celeba.ATTRIBUTES_FILE)


def _real_image(root: Path, name: str) -> np.ndarray:
    member = f"{celeba.IMAGE_FOLDER}/{name}"
    data = _member(root, member) if root.is_file() else (root / member).read_bytes()
    return celeba.preprocess(Image.open(io.BytesIO(data)))


def test_attributes_of_the_real_file(real_root: Path) -> None:
    table = _real_attributes(real_root)
    assert table.names == celeba.ATTRIBUTE_NAMES
    assert table.values.shape == (10_000, 40) and table.values.dtype == np.int8
    assert table.files[0] == "000001.jpg" and table.files[-1] == "010000.jpg"
    first = "-1  1  1 -1 -1 -1 -1 -1 -1 -1 -1  1 -1 -1 -1 -1 -1 -1  1  1 -1  1 -1 -1  1 -1 -1  1 -1 -1 -1  1  1 -1  1 -1  1 -1 -1  1"
    assert table.values[0].tolist() == [int(v) for v in first.split()]
    assert table.index("Smiling") == 31
    smiling = table.values[:, 31] == 1
    assert 0.3 < smiling.mean() < 0.7, "about half of CelebA smiles"
    with pytest.raises(KeyError, match="no attribute 'Smile'"):
        table.index("Smile")


def test_malformed_attribute_files_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "list_attr_celeba.txt"
    path.write_text("3\nA B\n1.jpg 1 -1\n2.jpg -1 1\n")
    with pytest.raises(ValueError, match="count line says 3"):
        celeba.read_attributes(path)
    path.write_text("1\nA B\n1.jpg 1 0\n")
    with pytest.raises(ValueError, match="-1 or 1"):
        celeba.read_attributes(path)


def test_dataset_items_and_splits(real_root: Path) -> None:
    train, test = celeba.CelebA(real_root, "train"), celeba.CelebA(real_root, "test")
    assert (len(train), len(test)) == (9000, 1000)
    assert not set(train.files) & set(test.files)
    image, attributes = train[0]
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32
    assert -1.0 <= image.min() < -0.5 and 0.5 < image.max() <= 1.0
    assert attributes.dtype == torch.int64 and set(attributes.tolist()) <= {0, 1}
    table = _real_attributes(real_root)
    assert attributes.tolist() == (table.values[0] > 0).astype(int).tolist()
    assert test[5][1].tolist() == (table.values[9005] > 0).astype(int).tolist()
    assert train.has("Smiling").shape == (9000,)
    np.testing.assert_array_equal(image.numpy(), _real_image(real_root, "000001.jpg"))
    np.testing.assert_array_equal(test[999][0].numpy(), _real_image(real_root, "010000.jpg"))
    assert len(celeba.CelebA(real_root, "train", max_images=10)) == 10


def test_dataset_streams_from_disk(real_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    real_open = Image.open
    monkeypatch.setattr(celeba.Image, "open", lambda fp, *a, **k: opened.append(fp) or real_open(fp, *a, **k))
    data = celeba.CelebA(real_root, "all")
    assert opened == [], "building the dataset must not read images"
    data[123]
    assert len(opened) == 1, "one item, one image read"
    member = f"{celeba.IMAGE_FOLDER}/000124.jpg"
    expected = _member(real_root, member) if real_root.is_file() else (real_root / member).read_bytes()
    assert data.read_bytes(123) == expected
    # what the dataset holds is names, offsets and attribute bits, a few dozen bytes per image
    arrays = [v for v in vars(data).values() if isinstance(v, np.ndarray)]
    assert sum(a.nbytes for a in arrays) < 120 * len(data)
    assert not any(isinstance(v, (torch.Tensor, list)) for v in vars(data).values())
    assert data.files.dtype.kind == "U", "file names as a fixed-width array, not Python objects"


def test_loader_with_workers(real_root: Path) -> None:
    data = celeba.CelebA(real_root, "test", max_images=10)
    batches = list(celeba.make_loader(data, batch_size=4, shuffle=True, num_workers=1, seed=3))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    again = list(celeba.make_loader(data, batch_size=4, shuffle=True, num_workers=0, seed=3))
    assert torch.equal(batches[0][0], again[0][0]), "seeded shuffling"


# ------------------------------------------------------------------------ sources


def _tiny_archive(folder: Path, n: int = 3) -> Path:
    """A celeba_subset.tar of n images and their attribute rows."""
    archive = folder / celeba.SUBSET_ARCHIVE
    rows = [str(n), " ".join(celeba.ATTRIBUTE_NAMES)]
    with tarfile.open(archive, "w") as tar:
        for i in range(1, n + 1):
            buffer = io.BytesIO()
            Image.new("RGB", (89, 109), (10 * i, 0, 0)).save(buffer, format="JPEG")
            info = tarfile.TarInfo(f"img_align_celeba/{i:06d}.jpg")
            info.size = buffer.tell()
            buffer.seek(0)
            tar.addfile(info, buffer)
            rows.append(f"{i:06d}.jpg " + " ".join(["-1"] * 40))
        text = ("\n".join(rows) + "\n").encode()
        info = tarfile.TarInfo(celeba.ATTRIBUTES_FILE)
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    return archive


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder and an empty cache."""
    (tmp_path / "data").mkdir()
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    return tmp_path


def test_missing_data_names_the_variable_and_the_files(isolated: Path) -> None:
    with pytest.raises(DataNotFoundError) as error:
        celeba.CelebA()
    message = str(error.value)
    for needle in (config.DATA_ENV, "celeba_subset.tar", "img_align_celeba", "list_attr_celeba.txt"):
        assert needle in message
    assert not (isolated / "cache" / "celeba_synthetic").exists(), "no silent switch to other data"


def test_the_archive_is_read_in_place(isolated: Path) -> None:
    archive = _tiny_archive(isolated / "data")
    assert celeba.locate() == archive
    data = celeba.CelebA(split="all")
    assert len(data) == 3 and data.in_archive
    reds = [float(data[i][0][0].mean()) for i in range(3)]
    np.testing.assert_allclose(reds, [10 * i / 127.5 - 1 for i in (1, 2, 3)], atol=0.03)
    cache = isolated / "cache"
    assert not cache.exists() or not any(cache.iterdir()), "nothing is extracted or written"


def test_a_compressed_archive_is_refused(isolated: Path) -> None:
    archive = _tiny_archive(isolated)
    with tarfile.open(archive) as tar, tarfile.open(isolated / "data" / celeba.SUBSET_ARCHIVE, "w:gz") as gz:
        for member in tar.getmembers():
            gz.addfile(member, tar.extractfile(member))
    with pytest.raises(DataNotFoundError, match="not an uncompressed tar"):
        celeba.CelebA()


def test_an_extracted_folder_in_the_data_dir_is_used_as_is(isolated: Path) -> None:
    data = isolated / "data"
    with tarfile.open(_tiny_archive(isolated)) as tar:
        tar.extractall(data, filter="data")
    assert celeba.locate() == data


def test_synthetic_fallback_only_without_any_data(isolated: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(config.DATA_ENV)
    monkeypatch.setitem(sys.modules, "gdown", None)  # no downloader: as on a machine with no network
    monkeypatch.setattr(celeba, "SYNTHETIC_IMAGES", 12)
    with pytest.warns(RuntimeWarning, match="synthetic CelebA"):
        root = celeba.locate()
    assert "NO REAL CelebA DATA" in capsys.readouterr().err
    data = celeba.CelebA(root, "all")
    assert len(data) == 12 and data[0][0].shape == (3, 64, 64)
    assert Image.open(data.path(0)).size == celeba.ORIGINAL_SIZE
    smiling = data.has("Smiling")
    assert smiling.any() and not smiling.all()

    monkeypatch.setenv(config.PROFILE_ENV, "full")
    with pytest.raises(DataNotFoundError, match="gdown"):
        celeba.locate()


class _FakeGdown:
    """Stands in for gdown: 'downloads' prepared files (or a web page) by id."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.calls = files, []

    def download(self, id: str, output: str, quiet: bool = False) -> str:
        self.calls.append(id)
        Path(output).write_bytes(self.files[id])
        return output


def _official_files(tmp_path: Path) -> dict[str, bytes]:
    """A tiny img_align_celeba.zip and list_attr_celeba.txt, keyed by their Drive ids."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in (1, 2):
            image = io.BytesIO()
            Image.new("RGB", celeba.ORIGINAL_SIZE, (0, 0, 200)).save(image, format="JPEG")
            archive.writestr(f"img_align_celeba/{i:06d}.jpg", image.getvalue())
    text = "2\n" + " ".join(celeba.ATTRIBUTE_NAMES) + "\n" + "".join(
        f"{i:06d}.jpg " + " ".join(["1"] * 40) + "\n" for i in (1, 2))
    ids = {name: file_id for name, (file_id, _) in celeba.GDRIVE_FILES.items()}
    return {ids["img_align_celeba.zip"]: buffer.getvalue(), ids[celeba.ATTRIBUTES_FILE]: text.encode()}


def test_the_colab_path_downloads_once(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    monkeypatch.delenv(config.DATA_ENV)
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    files = _official_files(isolated)
    fake = _FakeGdown(files)
    monkeypatch.setitem(sys.modules, "gdown", fake)
    monkeypatch.setattr(celeba, "GDRIVE_FILES", {
        name: (file_id, hashlib.md5(files[file_id]).hexdigest())
        for name, (file_id, _) in celeba.GDRIVE_FILES.items()
    })
    root = celeba.locate()
    assert root == isolated / "cache" / "celeba" and len(fake.calls) == 2
    data = celeba.CelebA(split="all")
    assert len(data) == 2 and not data.in_archive
    np.testing.assert_allclose(data[0][0][2].mean().item(), 200 / 127.5 - 1, atol=0.02)
    assert data[1][1].tolist() == [1] * 40
    assert celeba.locate() == root and len(fake.calls) == 2, "downloaded once"


def test_a_quota_page_instead_of_the_file_is_an_error(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.DATA_ENV)
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    page = b"<html>Too many users have viewed or downloaded this file recently</html>"
    monkeypatch.setitem(sys.modules, "gdown", _FakeGdown({i: page for i, _ in celeba.GDRIVE_FILES.values()}))
    with pytest.raises(DataNotFoundError, match="wrong checksum.*quota.*VAECOURSE_DATA"):
        celeba.locate()
    assert not (isolated / "cache" / "celeba" / "img_align_celeba.zip").exists()
