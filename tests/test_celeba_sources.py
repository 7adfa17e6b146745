"""Where CelebA comes from in Colab (vaecourse.celeba.sources, hub, gdrive, store).

The order under test: a converted store in the local cache, then on Google Drive, then
the Hugging Face mirror (parquet shards served here from 127.0.0.1, or through a
stand-in ``huggingface_hub`` reading a local hub-layout folder), then the official
Google Drive files (a stand-in ``gdown``), then a clear error. The fixtures hold
178x218 images, the real aligned size (the local subset is downscaled to 89x109).
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import sys
import threading
import types
import urllib.parse
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vaecourse import celeba, config, storage
from vaecourse.celeba import gdrive, hub, images, sources, store
from vaecourse.data import DataNotFoundError

pa = pytest.importorskip("pyarrow", reason="pyarrow writes the fixture parquet shards (pip install pyarrow)")
pq = pytest.importorskip("pyarrow.parquet")

NAMES = celeba.ATTRIBUTE_NAMES
SHARDS = {  # split -> images per shard, in the mirror's layout
    "train": (3, 2),
    "valid": (2,),
    "test": (3,),
}


def _face(seed: int) -> Image.Image:
    """A 178x218 picture with detail everywhere (so a wrong crop or resize shows)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(14, 11, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(celeba.ORIGINAL_SIZE, Image.BICUBIC)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _attributes(seed: int) -> list[bool]:
    return [bool((seed * 7 + k) % 3 == 0) for k in range(len(NAMES))]


def hub_folder(root: Path) -> list[tuple[str, Image.Image, list[bool]]]:
    """Write the mirror's parquet shards under ``root``; return (file name, image, attributes) in file order."""
    folder = root / hub.HUB_FOLDER
    folder.mkdir(parents=True)
    faces, number = [], 0
    for split, counts in SHARDS.items():
        for index, count in enumerate(counts):
            rows = []
            for _ in range(count):
                number += 1
                name, image, values = f"{number:06d}.jpg", _face(number), _attributes(number)
                faces.append((name, image, values))
                rows.append((name, image, values))
            table = pa.table({
                "image": pa.array([{"bytes": _png(im), "path": n} for n, im, _ in rows],
                                  type=pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
                "celeb_id": pa.array([7] * len(rows), pa.int64()),
                **{a: pa.array([v[k] for _, _, v in rows], pa.bool_()) for k, a in enumerate(NAMES)},
            })  # fmt: skip
            pq.write_table(table, folder / f"{split}-{index:05d}-of-{len(counts):05d}.parquet", row_group_size=2)
    (root / "README.md").write_text("a dataset card")
    return faces


class Hub(http.server.ThreadingHTTPServer):
    """The two hub endpoints the loader uses, serving a local hub-layout folder on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root, self.requests, self.fail = root, [], set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Hub

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        path = urllib.parse.unquote(self.path)
        self.server.requests.append(path)
        if any(word in path for word in self.server.fail):
            self.send_error(503, "the hub is down")
            return
        tree = f"/api/datasets/{hub.HUB_REPO}/tree/{hub.HUB_REVISION}/"
        resolve = f"/datasets/{hub.HUB_REPO}/resolve/{hub.HUB_REVISION}/"
        if path.startswith(tree):
            folder = self.server.root / path[len(tree):]
            listing = [{"type": "file", "path": str(p.relative_to(self.server.root)), "size": p.stat().st_size}
                       for p in sorted(folder.iterdir())]
            body = json.dumps(listing).encode()
        elif path.startswith(resolve) and (self.server.root / path[len(resolve):]).is_file():
            body = (self.server.root / path[len(resolve):]).read_bytes()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def colab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Colab as the loader sees it: no VAECOURSE_DATA, an empty cache, no Drive, no network."""
    monkeypatch.delenv(config.DATA_ENV, raising=False)
    monkeypatch.delenv(config.PAD_ENV, raising=False)
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # refused at once
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    monkeypatch.setitem(sys.modules, "gdown", None)
    monkeypatch.setattr(storage, "DRIVE_ROOT", tmp_path / "no-drive")
    return tmp_path


@pytest.fixture
def mirror(colab: Path, monkeypatch: pytest.MonkeyPatch):
    faces = hub_folder(colab / "hub")
    server = Hub(colab / "hub")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server, faces
    server.shutdown()
    server.server_close()


def _check_faces(data: celeba.Faces, faces) -> None:
    assert len(data) == len(faces)
    for k, (name, image, values) in enumerate(faces):
        assert data.files[k] == name
        np.testing.assert_array_equal(data.pixels(k), images.crop_pixels(image))
        np.testing.assert_array_equal(data[k][0], images.preprocess(image))
        assert data[k][1].tolist() == [int(v) for v in values]


def test_the_hub_mirror_is_converted_once_from_178x218_originals(mirror) -> None:
    server, faces = mirror
    root = celeba.locate()
    assert root == config.cache_dir() / sources.STORE_FOLDER and store.is_store(root)
    data = celeba.Faces(split="all")
    assert data.kind == "store"
    _check_faces(data, faces)  # train, valid, test shards in CelebA's file order
    assert (root / store.PIXELS_FILE).stat().st_size == len(faces) * 64 * 64 * 3
    assert not list((config.cache_dir() / "hub-shards").glob("*.parquet")), "shards are deleted once converted"
    assert [len(celeba.Faces(split=s)) for s in ("train", "test")] == [9, 1]
    downloads = [r for r in server.requests if "/resolve/" in r]
    assert len(downloads) == 4
    assert celeba.locate() == root and len(server.requests) == len(downloads) + 1, "converted once"


def test_a_cut_off_conversion_resumes_after_the_last_shard(mirror) -> None:
    server, faces = mirror
    server.fail = {"valid-00000"}
    with pytest.raises(DataNotFoundError, match="Hugging Face mirror.*503"):
        celeba.locate()
    done = json.loads((config.cache_dir() / sources.STORE_FOLDER / store.PROGRESS_FILE).read_text())
    assert done["rows"] == 5 and len(done["done"]) == 2
    server.fail, server.requests[:] = set(), []
    celeba.locate()
    assert [r.rsplit("/", 1)[-1] for r in server.requests if "/resolve/" in r] == [
        "valid-00000-of-00001.parquet", "test-00000-of-00001.parquet"]
    _check_faces(celeba.Faces(split="all"), faces)


def test_the_mirror_through_huggingface_hub(colab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    faces = hub_folder(colab / "hub-layout")
    calls = []

    class HfApi:
        def __init__(self, endpoint=None):
            self.endpoint = endpoint

        def list_repo_files(self, repo_id, repo_type=None, revision=None):
            calls.append(("list", repo_id, repo_type, revision))
            return [str(p.relative_to(colab / "hub-layout")) for p in (colab / "hub-layout").rglob("*") if p.is_file()]

    def hf_hub_download(repo_id, filename, repo_type=None, revision=None, local_dir=None, endpoint=None):
        calls.append(("download", repo_id, repo_type, revision))
        target = Path(local_dir) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(colab / "hub-layout" / filename, target)
        return str(target)

    fake = types.SimpleNamespace(HfApi=HfApi, hf_hub_download=hf_hub_download)
    monkeypatch.setitem(sys.modules, "huggingface_hub", fake)
    celeba.locate()
    _check_faces(celeba.Faces(split="all"), faces)
    assert {c[1:] for c in calls} == {(hub.HUB_REPO, "dataset", hub.HUB_REVISION)}, "the pinned revision"


def test_shards_are_ordered_and_checked() -> None:
    folder = hub.HUB_FOLDER
    paths = [f"{folder}/test-00000-of-00001.parquet", f"{folder}/train-00001-of-00002.parquet",
             f"{folder}/valid-00000-of-00001.parquet", f"{folder}/train-00000-of-00002.parquet", "README.md"]
    assert [p.rsplit("/", 1)[-1][:11] for p in hub.order_shards(paths)] == [
        "train-00000", "train-00001", "valid-00000", "test-00000-"]
    with pytest.raises(ValueError, match="train split is incomplete: 1 of 2"):
        hub.order_shards(paths[:2])
    with pytest.raises(ValueError, match="no parquet shards"):
        hub.order_shards(["README.md"])


# ------------------------------------------------------------- Google Drive fallback


class FakeGdown:
    """Stands in for gdown: 'downloads' prepared files (or a web page) by id."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.calls = files, []

    def download(self, id: str, output: str, quiet: bool = False) -> str:
        self.calls.append(id)
        Path(output).write_bytes(self.files[id])
        return output


def official_files(monkeypatch: pytest.MonkeyPatch, faces) -> dict[str, bytes]:
    """img_align_celeba.zip (JPEGs at 178x218) and list_attr_celeba.txt, keyed by their Drive ids."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, image, _ in faces:
            jpeg = io.BytesIO()
            image.save(jpeg, format="JPEG", quality=95)
            archive.writestr(f"img_align_celeba/{name}", jpeg.getvalue())
    rows = [f"{name} " + " ".join("1" if v else "-1" for v in values) for name, _, values in faces]
    text = "\n".join([str(len(faces)), " ".join(NAMES), *rows]) + "\n"
    ids = {name: file_id for name, (file_id, _) in gdrive.GDRIVE_FILES.items()}
    files = {ids[gdrive.ZIP_FILE]: buffer.getvalue(), ids[celeba.ATTRIBUTES_FILE]: text.encode()}
    monkeypatch.setattr(gdrive, "GDRIVE_FILES", {
        name: (file_id, hashlib.md5(files[file_id]).hexdigest()) for name, (file_id, _) in gdrive.GDRIVE_FILES.items()
    })
    return files


def _jpeg_faces(faces):
    """What a face looks like after the official JPEG round trip."""
    out = []
    for name, image, values in faces:
        jpeg = io.BytesIO()
        image.save(jpeg, format="JPEG", quality=95)
        out.append((name, Image.open(io.BytesIO(jpeg.getvalue())), values))
    return out


def test_fallback_order_mirror_then_google_drive_then_drive_cache(mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    server, faces = mirror
    colab_root = config.cache_dir().parent
    server.fail = {"/api/"}  # the mirror is down
    fake = FakeGdown(official_files(monkeypatch, faces))
    monkeypatch.setitem(sys.modules, "gdown", fake)
    (colab_root / "MyDrive").mkdir()
    monkeypatch.setattr(storage, "DRIVE_ROOT", colab_root / "MyDrive")

    root = celeba.locate()
    assert len(fake.calls) == 2 and len(server.requests) == 1
    assert json.loads((root / store.DONE_FILE).read_text())["source"].startswith("google-drive")
    _check_faces(celeba.Faces(split="all"), _jpeg_faces(faces))
    on_drive = colab_root / "MyDrive" / storage.DRIVE_FOLDER / sources.STORE_FOLDER
    assert store.is_store(on_drive), "the converted faces are saved to Google Drive"

    # a new Colab session: empty local disk, Drive still mounted, every download broken
    import shutil

    shutil.rmtree(config.cache_dir())
    server.fail = {"/"}
    fake.calls.clear()
    server.requests.clear()
    assert celeba.locate() == config.cache_dir() / sources.STORE_FOLDER
    assert fake.calls == [] and server.requests == [], "loaded from Drive, nothing downloaded"
    _check_faces(celeba.Faces(split="all"), _jpeg_faces(faces))


def test_files_put_on_drive_by_hand_are_used(colab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faces = [(f"{i:06d}.jpg", _face(i), _attributes(i)) for i in (1, 2)]
    files = official_files(monkeypatch, faces)
    (colab / "MyDrive").mkdir()
    monkeypatch.setattr(storage, "DRIVE_ROOT", colab / "MyDrive")
    by_hand = colab / "MyDrive" / storage.DRIVE_FOLDER / sources.DOWNLOAD_FOLDER
    by_hand.mkdir(parents=True)
    for name, (file_id, _) in gdrive.GDRIVE_FILES.items():
        (by_hand / name).write_bytes(files[file_id])
    celeba.locate()  # gdown is missing: only the files on Drive can have served
    _check_faces(celeba.Faces(split="all"), _jpeg_faces(faces))


def test_a_clear_error_when_every_source_fails(colab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = b"<html>Too many users have viewed or downloaded this file recently</html>"
    monkeypatch.setitem(sys.modules, "gdown", FakeGdown({i: page for i, _ in gdrive.GDRIVE_FILES.values()}))
    with pytest.raises(DataNotFoundError) as error:
        celeba.locate()
    message = str(error.value)
    for needle in ("1. the Hugging Face mirror flwrlabs/celeba", "2. the official Google Drive files",
                   "wrong checksum", "What to do", "img_align_celeba.zip", config.DATA_ENV):
        assert needle in message, needle
    assert not (config.cache_dir() / sources.DOWNLOAD_FOLDER / gdrive.ZIP_FILE).exists()


def test_synthetic_faces_only_in_the_ci_profile(colab: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    monkeypatch.setattr(sources, "SYNTHETIC_IMAGES", 12)
    with pytest.warns(RuntimeWarning, match="synthetic CelebA"):
        root = celeba.locate()
    assert "NO REAL CelebA DATA" in capsys.readouterr().err
    data = celeba.Faces(root, "all")
    assert len(data) == 12 and data[0][0].shape == (3, 64, 64)
    assert Image.open(data.path(0)).size == celeba.ORIGINAL_SIZE
    smiling = data.has("Smiling")
    assert smiling.any() and not smiling.all()
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    with pytest.raises(DataNotFoundError, match="gdown"):
        celeba.locate()


def test_a_store_pickles_without_its_pixels(mirror) -> None:
    import pickle

    celeba.locate()
    data = celeba.Faces(split="all")
    data[0]  # opens the memory map
    copy = pickle.loads(pickle.dumps(data))
    assert len(pickle.dumps(data)) < 10_000, "a DataLoader worker must not receive the whole pixel file"
    np.testing.assert_array_equal(copy[3][0], data[3][0])
