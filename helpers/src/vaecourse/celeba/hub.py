"""CelebA from a Hugging Face hub mirror: parquet shards converted once into the 64x64 store.

The mirror (default ``flwrlabs/celeba``, pinned to one commit so that a change upstream
cannot change the course's data) holds the 202,599 aligned 178x218 faces with their 40
attributes as parquet shards ``img_align+identity+attr/{train,valid,test}-NNNNN-of-MMMMM.parquet``;
each row has an ``image`` column (a struct of the encoded ``bytes`` and the original
``path``), a ``celeb_id`` and one boolean column per attribute. The hub's CDN serves a
whole class at once, unlike the official Google Drive file and its daily quota.

Shards are fetched one at a time (``huggingface_hub`` when it is installed, as in Colab,
else plain HTTP against the same hub API), each is decoded into the
:func:`~vaecourse.celeba.images.crop_pixels` squares of the notebook's pipeline, appended
to the store and deleted, so the disk never holds more than one shard (about 0.5 GB).
The shards are read in the order train, valid, test, which is CelebA's file order.
``HF_ENDPOINT`` and ``HF_TOKEN`` are honoured as ``huggingface_hub`` does.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .attributes import ATTRIBUTE_NAMES
from .images import decode_pixels
from .store import StoreWriter

HUB_REPO = "flwrlabs/celeba"
HUB_REVISION = "2d738f56e0e7f925ea36ae7c808ea925264aacec"
HUB_FOLDER = "img_align+identity+attr"
SPLITS = ("train", "valid", "test")  # CelebA's file order
DEFAULT_ENDPOINT = "https://huggingface.co"
_SHARD = re.compile(r"(?P<split>[a-z]+)-(?P<index>\d+)-of-(?P<count>\d+)\.parquet$")
TIMEOUT = 60.0


def endpoint() -> str:
    """The hub's address: ``HF_ENDPOINT`` or huggingface.co."""
    return os.environ.get("HF_ENDPOINT", "").strip().rstrip("/") or DEFAULT_ENDPOINT


def _request(url: str) -> urllib.request.Request:
    headers = {"User-Agent": "vaecourse"}
    token = os.environ.get("HF_TOKEN", "").strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return urllib.request.Request(url, headers=headers)


def order_shards(paths: list[str], folder: str = HUB_FOLDER) -> list[str]:
    """The parquet shards under ``folder``, in CelebA's order (train, valid, test; by index).

    Raises:
        ValueError: if there is no shard, or a split's shard count does not add up.
    """
    found: dict[str, list[tuple[int, int, str]]] = {}
    for path in paths:
        if not path.startswith(folder + "/"):
            continue
        match = _SHARD.search(path.rsplit("/", 1)[-1])
        if match and match["split"] in SPLITS:
            found.setdefault(match["split"], []).append((int(match["index"]), int(match["count"]), path))
    if not found:
        raise ValueError(f"the mirror has no parquet shards under {folder}/")
    ordered = []
    for split in SPLITS:
        shards = sorted(found.get(split, []))
        if shards and [i for i, _, _ in shards] != list(range(shards[0][1])):
            raise ValueError(f"the mirror's {split} split is incomplete: {len(shards)} of {shards[0][1]} shards")
        ordered += [path for _, _, path in shards]
    return ordered


class _HttpHub:
    """The two hub calls the conversion needs, over plain HTTP (no huggingface_hub)."""

    def __init__(self, repo: str, revision: str, url: str) -> None:
        self.repo, self.revision, self.url = repo, revision, url

    def list_files(self, folder: str) -> list[str]:
        quoted = urllib.parse.quote(folder, safe="/")
        url = f"{self.url}/api/datasets/{self.repo}/tree/{self.revision}/{quoted}"
        with urllib.request.urlopen(_request(url), timeout=TIMEOUT) as response:
            entries = json.load(response)
        return [e["path"] for e in entries if e.get("type") == "file"]

    def download(self, path: str, target: Path) -> Path:
        from tqdm import tqdm

        quoted = urllib.parse.quote(path, safe="/")
        url = f"{self.url}/datasets/{self.repo}/resolve/{self.revision}/{quoted}"
        partial = target.with_name(target.name + ".partial")
        with urllib.request.urlopen(_request(url), timeout=TIMEOUT) as response, open(partial, "wb") as f:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=f"downloading {path.rsplit('/', 1)[-1]}",
                      file=sys.stderr, mininterval=1.0) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    f.write(block)
                    bar.update(len(block))
        os.replace(partial, target)
        return target


class _LibraryHub:
    """The same two calls through ``huggingface_hub`` (retries, tokens, the hub's own storage)."""

    def __init__(self, repo: str, revision: str, url: str, library) -> None:
        self.repo, self.revision, self.url, self.hf = repo, revision, url, library

    def list_files(self, folder: str) -> list[str]:
        api = self.hf.HfApi(endpoint=self.url)
        return [p for p in api.list_repo_files(self.repo, repo_type="dataset", revision=self.revision)
                if p.startswith(folder + "/")]

    def download(self, path: str, target: Path) -> Path:
        local = self.hf.hf_hub_download(self.repo, path, repo_type="dataset", revision=self.revision,
                                        local_dir=str(target.parent / "hub"), endpoint=self.url)
        os.replace(local, target)
        return target


def _client(repo: str, revision: str, url: str):
    try:
        import huggingface_hub
    except ImportError:
        return _HttpHub(repo, revision, url)
    return _LibraryHub(repo, revision, url, huggingface_hub)


def _attribute_values(table, names: tuple[str, ...]) -> np.ndarray:
    """The attribute columns of a parquet record batch as an ``(k, 40)`` int8 array of -1/+1."""
    missing = [n for n in names if n not in table.schema.names]
    if missing:
        raise ValueError(f"the mirror's parquet files lack the attribute columns {missing[:5]}")
    columns = []
    for name in names:
        column = table.column(name).to_numpy(zero_copy_only=False)
        columns.append(np.where(column.astype(np.int64) > 0, 1, -1).astype(np.int8))
    return np.stack(columns, axis=1)


def convert_shard(path: Path, writer: StoreWriter, part: str, first_row: int, workers: int | None = None) -> int:
    """Decode one parquet shard into the store (one part); returns the number of faces."""
    import pyarrow.parquet as pq
    from tqdm import tqdm

    parquet = pq.ParquetFile(path)
    files, pixels, values = [], [], []
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool, tqdm(
        total=parquet.metadata.num_rows, unit="face", desc=f"converting {part.rsplit('/', 1)[-1]}",
        file=sys.stderr, mininterval=1.0,
    ) as bar:
        for batch in parquet.iter_batches(batch_size=1024):
            images = batch.column(batch.schema.get_field_index("image"))
            data = images.field("bytes").to_pylist()
            names = images.field("path").to_pylist() if "path" in {f.name for f in images.type} else [None] * len(data)
            pixels += list(pool.map(decode_pixels, data))
            values.append(_attribute_values(batch, ATTRIBUTE_NAMES))
            for name in names:
                row = first_row + len(files) + 1
                files.append(os.path.basename(name) if name else f"{row:06d}.jpg")
            bar.update(len(data))
    writer.add(part, files, np.stack(pixels) if pixels else np.zeros((0, 64, 64, 3), np.uint8),
               np.concatenate(values) if values else np.zeros((0, len(ATTRIBUTE_NAMES)), np.int8))
    return len(files)


def convert_mirror(store: Path, scratch: Path, repo: str = HUB_REPO, revision: str = HUB_REVISION,
                   url: str | None = None) -> Path:
    """Fetch the mirror's shards one by one into ``scratch`` and convert them into ``store``.

    Resumes an interrupted conversion after its last finished shard.

    Raises:
        ImportError: without ``pyarrow`` (Colab has it).
        OSError, ValueError: when the hub cannot be reached or serves something else.
    """
    import pyarrow  # noqa: F401  (fail early, before any download)

    hub = _client(repo, revision, url or endpoint())
    shards = order_shards(hub.list_files(HUB_FOLDER))
    writer = StoreWriter(store, ATTRIBUTE_NAMES)
    scratch.mkdir(parents=True, exist_ok=True)
    for number, shard in enumerate(shards, 1):
        if shard in writer.done:
            continue
        print(f"CelebA from the hub mirror {repo}: shard {number} of {len(shards)}", file=sys.stderr)
        local = hub.download(shard, scratch / shard.rsplit("/", 1)[-1])
        try:
            convert_shard(local, writer, shard, writer.rows)
        finally:
            local.unlink(missing_ok=True)
    return writer.finish(f"hub:{repo}@{revision}")
