"""The converted CelebA: every face once as its 64x64 ``uint8`` square, read by memory map.

A download (the Hugging Face mirror's parquet shards or the official zip) is converted
once into a folder that holds

``faces64.u8``
    the pixels of :func:`~vaecourse.celeba.images.crop_pixels`, ``(N, 64, 64, 3)`` raw
    ``uint8`` in file order (2.5 GB for the 202,599 faces), read with ``np.memmap``:
    an item costs one 12 KB read and no JPEG decoding;
``list_attr_celeba.txt``
    the 40 attributes in the official format (its count line gives ``N``);
``.complete``
    written last, naming the source (a folder without it is an unfinished conversion).

The conversion goes part by part (a parquet shard, a block of zip members); after each
part ``progress.json`` records what is done, so that a conversion cut off by a Colab
disconnect resumes after the last finished part instead of starting over.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .attributes import ATTRIBUTES_FILE, Attributes, format_attributes, read_attributes
from .images import IMAGE_SIZE

PIXELS_FILE = "faces64.u8"
DONE_FILE = ".complete"
PROGRESS_FILE = "progress.json"
_ROWS_FILE = "rows.partial"
FACE_BYTES = IMAGE_SIZE * IMAGE_SIZE * 3


def is_store(folder: Path) -> bool:
    """True when ``folder`` holds a finished conversion."""
    return (folder / DONE_FILE).is_file() and (folder / PIXELS_FILE).is_file()


def open_store(folder: Path) -> tuple[np.memmap, Attributes]:
    """The pixels ``(N, 64, 64, 3)`` (a read-only memory map) and the attributes of a store.

    Raises:
        ValueError: if the pixel file does not hold exactly one face per attribute row.
    """
    table = read_attributes(folder / ATTRIBUTES_FILE)
    path = folder / PIXELS_FILE
    n = len(table.files)
    if path.stat().st_size != n * FACE_BYTES:
        raise ValueError(f"{path}: {path.stat().st_size} bytes, expected {n} faces of {FACE_BYTES}")
    pixels = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, IMAGE_SIZE, IMAGE_SIZE, 3))
    return pixels, table


class StoreWriter:
    """Builds a store part by part; resumes an unfinished one in the same folder.

    Use::

        writer = StoreWriter(folder, names)
        for part in parts:
            if part not in writer.done:
                writer.add(part, files, pixels, values)   # one call per finished part
        writer.finish("where it came from")
    """

    def __init__(self, folder: Path, names: tuple[str, ...]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.names = names
        progress = self.folder / PROGRESS_FILE
        state = json.loads(progress.read_text()) if progress.is_file() else {"done": [], "rows": 0}
        self.done: list[str] = list(state["done"])
        self.rows: int = int(state["rows"])
        # cut what an interrupted part had appended after the last recorded one
        pixels, rows = self.folder / PIXELS_FILE, self.folder / _ROWS_FILE
        with open(pixels, "ab") as f:
            f.truncate(self.rows * FACE_BYTES)
        lines = rows.read_text().splitlines(keepends=True)[: self.rows] if rows.is_file() else []
        rows.write_text("".join(lines))

    def add(self, part: str, files: Iterable[str], pixels: np.ndarray, values: np.ndarray) -> None:
        """Append one finished part: file names, ``(k, 64, 64, 3)`` uint8 pixels, ``(k, 40)`` -1/+1."""
        files = list(files)
        if pixels.shape != (len(files), IMAGE_SIZE, IMAGE_SIZE, 3) or pixels.dtype != np.uint8:
            raise ValueError(f"{part}: expected ({len(files)}, 64, 64, 3) uint8 pixels, got "
                             f"{pixels.shape} {pixels.dtype}")
        with open(self.folder / PIXELS_FILE, "ab") as f:
            f.write(np.ascontiguousarray(pixels).tobytes())
            f.flush()
            os.fsync(f.fileno())
        with open(self.folder / _ROWS_FILE, "a", encoding="utf-8") as f:
            for name, row in zip(files, values, strict=True):
                f.write(f"{name} " + " ".join(str(int(v)) for v in row) + "\n")
        self.rows += len(files)
        self.done.append(part)
        tmp = self.folder / (PROGRESS_FILE + ".tmp")
        tmp.write_text(json.dumps({"done": self.done, "rows": self.rows}))
        os.replace(tmp, self.folder / PROGRESS_FILE)

    def finish(self, source: str) -> Path:
        """Write the attribute file and the completion mark; return the folder."""
        rows = (self.folder / _ROWS_FILE).read_text().split("\n")
        rows = [r.split() for r in rows if r.strip()]
        files = np.array([r[0] for r in rows])
        values = np.array([r[1:] for r in rows], dtype=np.int8).reshape(len(rows), len(self.names))
        text = format_attributes(Attributes(self.names, files, values))
        (self.folder / ATTRIBUTES_FILE).write_text(text, encoding="utf-8")
        (self.folder / _ROWS_FILE).unlink()
        (self.folder / PROGRESS_FILE).unlink()
        (self.folder / DONE_FILE).write_text(json.dumps({"source": source, "faces": len(files)}))
        return self.folder


def copy_store(source: Path, target: Path, what: str = "copying CelebA") -> Path:
    """Copy a finished store (e.g. between Google Drive and the local disk), with a progress bar.

    The completion mark is copied last, so an interrupted copy is never taken for a store.
    """
    from tqdm import tqdm

    target.mkdir(parents=True, exist_ok=True)
    (target / DONE_FILE).unlink(missing_ok=True)
    shutil.copyfile(source / ATTRIBUTES_FILE, target / ATTRIBUTES_FILE)
    size = (source / PIXELS_FILE).stat().st_size
    with open(source / PIXELS_FILE, "rb") as src, open(target / PIXELS_FILE, "wb") as dst, tqdm(
        total=size, unit="B", unit_scale=True, desc=what, file=sys.stderr, mininterval=1.0
    ) as bar:
        for block in iter(lambda: src.read(1 << 24), b""):
            dst.write(block)
            bar.update(len(block))
    shutil.copyfile(source / DONE_FILE, target / DONE_FILE)
    return target
