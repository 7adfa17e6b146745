"""CelebA without a framework (vaecourse.celeba): the pipeline, attributes, the local subset.

Where the faces come from (hub mirror, Google Drive, caches, the fallback order) is in
``test_celeba_sources.py``; the PyTorch dataset and loader in ``test_torch_celeba.py``.
"""

from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vaecourse import celeba, config
from vaecourse.celeba import faces, images
from vaecourse.celeba.synthetic import IMAGE_FOLDER
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
        assert images.resize_shorter_side(Image.new("RGB", size), 64).size == expected


def test_center_crop_offsets() -> None:
    ramp = np.arange(78, dtype=np.uint8)[:, None, None].repeat(64, 1).repeat(3, 2)
    cropped = np.asarray(images.center_crop(Image.fromarray(ramp), 64))
    assert cropped[0, 0, 0] == 7 and cropped[-1, 0, 0] == 70  # (78 - 64) / 2 rows off each side
    odd = np.arange(65, dtype=np.uint8)[:, None, None].repeat(64, 1).repeat(3, 2)
    assert np.asarray(images.center_crop(Image.fromarray(odd), 64))[0, 0, 0] == 0  # round(0.5) = 0
    with pytest.raises(ValueError, match="cannot crop"):
        images.center_crop(Image.new("RGB", (63, 80)), 64)


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


def _nbytes(data) -> int:
    return sum(v.nbytes for v in vars(data).values() if isinstance(v, np.ndarray))


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as tar:
        return tar.extractfile(name).read()


def _real_attributes(root: Path) -> celeba.Attributes:
    if root.is_file():
        return celeba.parse_attributes(_member(root, celeba.ATTRIBUTES_FILE).decode())
    return celeba.read_attributes(root / celeba.ATTRIBUTES_FILE)


def _real_image(root: Path, name: str) -> np.ndarray:
    member = f"{IMAGE_FOLDER}/{name}"
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
    train, test = celeba.Faces(real_root, "train"), celeba.Faces(real_root, "test")
    assert (len(train), len(test)) == (9000, 1000)
    assert not set(train.files) & set(test.files)
    image, attributes = train[0]
    assert image.shape == (3, 64, 64) and image.dtype == np.float32
    assert -1.0 <= image.min() < -0.5 and 0.5 < image.max() <= 1.0
    assert attributes.dtype == np.int64 and set(attributes.tolist()) <= {0, 1}
    table = _real_attributes(real_root)
    assert attributes.tolist() == (table.values[0] > 0).astype(int).tolist()
    assert test[5][1].tolist() == (table.values[9005] > 0).astype(int).tolist()
    assert train.has("Smiling").shape == (9000,)
    np.testing.assert_array_equal(image, _real_image(real_root, "000001.jpg"))
    np.testing.assert_array_equal(test[999][0], _real_image(real_root, "010000.jpg"))
    assert len(celeba.Faces(real_root, "train", max_images=10)) == 10


def test_dataset_streams_from_disk(real_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    real_open = Image.open
    monkeypatch.setattr(images.Image, "open", lambda fp, *a, **k: opened.append(fp) or real_open(fp, *a, **k))
    data = celeba.Faces(real_root, "all")
    assert opened == [], "building the dataset must not read images"
    data[123]
    assert len(opened) == 1, "one item, one image read"
    member = f"{IMAGE_FOLDER}/000124.jpg"
    expected = _member(real_root, member) if real_root.is_file() else (real_root / member).read_bytes()
    assert data.read_bytes(123) == expected
    # what the dataset holds is names, offsets and attribute bits, a few dozen bytes per image
    arrays = [v for v in vars(data).values() if isinstance(v, np.ndarray)]
    assert sum(a.nbytes for a in arrays) < 120 * len(data)
    assert not any(isinstance(v, (list, dict)) for v in vars(data).values())
    assert data.files.dtype.kind == "U", "file names as a fixed-width array, not Python objects"


def test_the_real_subset_padded_to_the_full_size(real_root: Path) -> None:
    train = celeba.Faces(real_root, "train", pad_to_full=True)
    test = celeba.Faces(real_root, "test", pad_to_full=True)
    assert (len(train), len(test)) == (182_339, 20_260) and len(train) + len(test) == celeba.FULL_SIZE
    assert train.padded and train.real_size == 9000
    np.testing.assert_array_equal(train[9000 * 20 + 5][0], train[5][0])
    assert train.path(182_338) == train.path(182_338 % 9000)
    plain = celeba.Faces(real_root, "train", pad_to_full=False)
    assert _nbytes(train) == _nbytes(plain), "padding must not copy anything"


# ------------------------------------------------------------------- local sources


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
            values = ["1" if (i + k) % 3 == 0 else "-1" for k in range(40)]
            rows.append(f"{i:06d}.jpg " + " ".join(values))
        text = ("\n".join(rows) + "\n").encode()
        info = tarfile.TarInfo(celeba.ATTRIBUTES_FILE)
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    return archive


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder, an empty cache, no Google Drive and no network."""
    from vaecourse import storage

    (tmp_path / "data").mkdir()
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    monkeypatch.delenv(config.PAD_ENV, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # refused at once
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    monkeypatch.setitem(sys.modules, "gdown", None)
    monkeypatch.setattr(storage, "DRIVE_ROOT", tmp_path / "no-drive")
    return tmp_path


def test_missing_data_names_the_variable_and_the_files(isolated: Path) -> None:
    with pytest.raises(DataNotFoundError) as error:
        celeba.Faces()
    message = str(error.value)
    for needle in (config.DATA_ENV, "celeba_subset.tar", "img_align_celeba", "list_attr_celeba.txt"):
        assert needle in message
    assert not (isolated / "cache" / "celeba_synthetic").exists(), "no silent switch to other data"


def test_the_archive_is_read_in_place(isolated: Path) -> None:
    archive = _tiny_archive(isolated / "data")
    assert celeba.locate() == archive
    data = celeba.Faces(split="all")
    assert len(data) == 3 and data.in_archive
    reds = [float(data[i][0][0].mean()) for i in range(3)]
    np.testing.assert_allclose(reds, [10 * i / 127.5 - 1 for i in (1, 2, 3)], atol=0.03)
    cache = isolated / "cache"
    assert not cache.exists() or not any(cache.iterdir()), "nothing is extracted or written"


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT])
def test_the_archive_index_matches_tarfile_whatever_the_headers(tmp_path: Path, fmt: int) -> None:
    """Plain headers are read directly; long names, pax headers and links go through tarfile:
    either way the same names, offsets and sizes as tarfile's."""
    from vaecourse.celeba.archive import ArchiveIndex, _scan_plain_headers

    names = ["img/000001.jpg", "img/" + "d" * 120 + "/000002.jpg", "img/000003.jpg", "img/empty.jpg"]
    path = tmp_path / "a.tar"
    with tarfile.open(path, "w", format=fmt) as tar:
        folder = tarfile.TarInfo("img")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for i, name in enumerate(names):
            payload = bytes([i]) * (700 * i)
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    with tarfile.open(path) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
    index = ArchiveIndex.build(path)
    assert list(index.names) == [m.name for m in members] == names
    assert list(index.offsets) == [m.offset_data for m in members] and list(index.sizes) == [m.size for m in members]
    assert index.read(names[2]) == bytes([2]) * 1400
    # a name over 100 characters needs a GNU long-name or pax header, or the ustar prefix
    assert (_scan_plain_headers(path) is None) == (fmt != tarfile.USTAR_FORMAT)
    short = tmp_path / "short.tar"
    with tarfile.open(short, "w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("a.jpg")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
        link = tarfile.TarInfo("b.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "a.jpg"
        tar.addfile(link)
    assert _scan_plain_headers(short) is None and list(ArchiveIndex.build(short).names) == ["a.jpg"]


def test_a_compressed_archive_is_refused(isolated: Path) -> None:
    archive = _tiny_archive(isolated)
    with tarfile.open(archive) as tar, tarfile.open(isolated / "data" / celeba.SUBSET_ARCHIVE, "w:gz") as gz:
        for member in tar.getmembers():
            gz.addfile(member, tar.extractfile(member))
    with pytest.raises(DataNotFoundError, match="not an uncompressed tar"):
        celeba.Faces()


def test_an_extracted_folder_in_the_data_dir_is_used_as_is(isolated: Path) -> None:
    data = isolated / "data"
    with tarfile.open(_tiny_archive(isolated)) as tar:
        tar.extractall(data, filter="data")
    assert celeba.locate() == data
    assert celeba.Faces(split="all").kind == "folder"


def test_has_and_unknown_attributes(isolated: Path) -> None:
    data = celeba.Faces(_tiny_archive(isolated / "data"), "all")
    column = celeba.ATTRIBUTE_NAMES.index("Smiling")
    assert data.has("Smiling").tolist() == [(i + column) % 3 == 0 for i in (1, 2, 3)]
    with pytest.raises(KeyError, match="no attribute 'Smile'.*Smiling"):
        data.has("Smile")


# ----------------------------------------------------------------------- padding


def test_padding_wraps_indices_and_copies_nothing(isolated: Path) -> None:
    root = _tiny_archive(isolated / "data", n=20)
    plain = celeba.Faces(root, "train", pad_to_full=False)
    padded = celeba.Faces(root, "train", pad_to_full=True)
    test = celeba.Faces(root, "test", pad_to_full=True)
    assert (len(plain), len(padded), len(test)) == (18, 182_339, 20_260)
    assert repr(padded).endswith(f"padded from 18, root={str(root)!r})")
    for i in (0, 17, 18, 35, 182_338, -1):
        k = (i % len(padded)) % 18  # -1 is the last padded item, 182,338
        np.testing.assert_array_equal(padded[i][0], plain[k][0])
        assert padded[i][1].tolist() == plain[k][1].tolist()
    assert set(test.files).isdisjoint(plain.files), "padding keeps train and test apart"
    assert _nbytes(padded) == _nbytes(plain), "no index array or copy grows with the padded size"
    assert padded.has("Smiling").shape == (182_339,)
    with pytest.raises(IndexError):
        padded[182_339]
    assert len(celeba.Faces(root, "train", max_images=5, pad_to_full=True)) == 5


def test_padding_follows_the_variable(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tiny_archive(isolated / "data", n=20)
    assert len(celeba.Faces(root, "all")) == 20
    monkeypatch.setenv(config.PAD_ENV, "1")
    assert len(celeba.Faces(root, "all")) == celeba.FULL_SIZE


def test_reading_a_padded_set_does_not_grow_memory(isolated: Path) -> None:
    import tracemalloc

    data = celeba.Faces(_tiny_archive(isolated / "data", n=20), "all", pad_to_full=True)
    step = len(data) // 600

    def peak_after(count: int) -> int:
        tracemalloc.start()
        for i in range(0, count * step, step):  # spread over the whole padded range
            data[i]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak_after(60), peak_after(600)
    assert large < small + 256 * 1024, f"memory grew from {small} to {large} bytes over 10x the items"


def test_split_slice_is_the_last_tenth() -> None:
    assert faces.split_slice(10_000, "test", 0.1) == slice(9000, 10_000)
    assert faces.split_slice(202_599, "train", 0.1) == slice(0, 182_339)


def test_the_framework_free_part_imports_no_framework() -> None:
    import subprocess

    code = ("import sys, vaecourse.celeba, vaecourse.celeba.hub, vaecourse.celeba.gdrive, vaecourse.storage; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
