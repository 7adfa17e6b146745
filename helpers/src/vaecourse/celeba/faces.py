"""The CelebA faces as an indexable set that reads each face from disk when asked (no framework).

:class:`Faces` keeps only file names, attribute bits and where each face lies (tar offsets,
store rows): compact NumPy arrays, no per-image Python objects, so memory does not grow
with the number of images, also not in DataLoader worker processes. The PyTorch dataset
(:class:`vaecourse.torch.celeba.CelebA`) adds tensors on top.

With ``VAECOURSE_PAD_TO_FULL=1`` a local copy smaller than the real CelebA (the 10,000
local faces) is **padded** to the real size by index wrap-around: item ``i`` of a split is
real item ``i mod n``, so the full profile's epochs and evaluations meet 202,599 faces
without a single copy in memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import config
from ..data import DataNotFoundError
from .archive import archive_index, read_range
from .attributes import ATTRIBUTES_FILE, attribute_index, parse_attributes, read_attributes
from .images import IMAGE_SIZE, decode_pixels, normalize
from .sources import expected_files_message, locate
from .store import PIXELS_FILE, is_store, open_store
from .synthetic import IMAGE_FOLDER

FULL_SIZE = 202_599  # faces in the real aligned CelebA
SPLITS = ("train", "test", "all")


def split_slice(n: int, split: str, test_fraction: float) -> slice:
    """The rows of ``split`` among ``n`` faces: the test split is the last ``test_fraction``."""
    n_test = int(round(n * test_fraction))
    return {"train": slice(0, n - n_test), "test": slice(n - n_test, n), "all": slice(0, n)}[split]


class Faces:
    """CelebA faces as ``(image, attributes)`` NumPy pairs, read from disk item by item.

    ``image`` is a float32 ``(3, 64, 64)`` array in [-1, 1]
    (:func:`~vaecourse.celeba.images.preprocess`), ``attributes`` an int64 array of 40
    zeros and ones (1: the face has it).

    Args:
        root: a folder with ``img_align_celeba/`` and ``list_attr_celeba.txt``, an
            uncompressed tar archive holding them, or a converted store (default:
            :func:`~vaecourse.celeba.sources.locate`).
        split: ``"train"``, ``"test"`` or ``"all"``; the test split is the last
            ``test_fraction`` of the faces in file order.
        max_images: keep only the first ``max_images`` of the split (the ``ci`` profile).
        image_size: side of the square images (a store holds 64 only).
        pad_to_full: pad a copy smaller than CelebA to its real size by wrap-around
            (default: ``vaecourse.config.pad_to_full()``, i.e. ``VAECOURSE_PAD_TO_FULL=1``).
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "train",
        max_images: int | None = None,
        test_fraction: float = 0.1,
        image_size: int = IMAGE_SIZE,
        pad_to_full: bool | None = None,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be 'train', 'test' or 'all', not {split!r}")
        self.root = Path(root) if root is not None else locate()
        self.split, self.image_size = split, image_size
        self.kind, table, available = self._open()
        present = np.isin(table.files, available)
        if not present.any():
            raise DataNotFoundError(f"CelebA: no image named in {ATTRIBUTES_FILE} is in {self.root}")
        rows = np.flatnonzero(present)
        part = split_slice(len(rows), split, test_fraction)
        rows = rows[part]
        self.attribute_names: tuple[str, ...] = table.names
        self.files: np.ndarray = table.files[rows]  # fixed-width strings: no per-item objects
        self.attributes: np.ndarray = (table.values[rows] > 0).astype(np.int8)  # (n, 40) of 0/1
        self._rows: np.ndarray | None = None  # rows of a store
        self._offsets: np.ndarray | None = None  # byte offsets and sizes in a tar
        self._sizes: np.ndarray | None = None
        self._pixels: np.ndarray | None = None  # the store's memory map, opened per process
        if self.kind == "store":
            self._rows = rows.astype(np.int64)
        elif self.kind == "archive":
            index = archive_index(self.root)
            self._offsets, self._sizes = index.locate(np.char.add(IMAGE_FOLDER + "/", self.files))
        pad = config.pad_to_full() if pad_to_full is None else pad_to_full
        self.real_size = len(self.files)
        length = self.real_size
        if pad and len(present) < FULL_SIZE:
            full = split_slice(FULL_SIZE, split, test_fraction)
            length = full.stop - full.start
        self.padded = length > self.real_size
        self._length = length if max_images is None else min(length, max_images)

    def _open(self):
        """(kind, attribute table, names of the images present) of the source at ``self.root``."""
        if self.root.is_file():
            index = archive_index(self.root)
            text = index.read(ATTRIBUTES_FILE).decode("utf-8")
            table = parse_attributes(text, f"{self.root}:{ATTRIBUTES_FILE}")
            return "archive", table, np.char.replace(index.names, IMAGE_FOLDER + "/", "")
        if is_store(self.root):
            if self.image_size != IMAGE_SIZE:
                raise ValueError(f"{self.root} holds {IMAGE_SIZE}x{IMAGE_SIZE} faces only")
            _, table = open_store(self.root)
            return "store", table, table.files
        image_dir, attributes_path = self.root / IMAGE_FOLDER, self.root / ATTRIBUTES_FILE
        if not image_dir.is_dir() or not attributes_path.is_file():
            raise DataNotFoundError(
                f"CelebA: {self.root} lacks {IMAGE_FOLDER}/ or {ATTRIBUTES_FILE}. " + expected_files_message()
            )
        return "folder", read_attributes(attributes_path), np.array(os.listdir(image_dir))

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_pixels"] = None  # a memory map would be pickled as a copy of its data
        return state

    @property
    def in_archive(self) -> bool:
        """True when the images are read in place from a tar archive."""
        return self.kind == "archive"

    def __len__(self) -> int:
        return self._length

    def real_index(self, index: int) -> int:
        """The real face behind item ``index`` (differs only when padded)."""
        if not -self._length <= index < self._length:
            raise IndexError(f"index {index} is out of range for {self._length} faces")
        return int(index % self._length) % self.real_size

    def path(self, index: int) -> str:
        """Where item ``index`` lies: a file path, ``archive.tar:member`` or ``store[row]``."""
        k = self.real_index(index)
        if self.kind == "archive":
            return f"{self.root}:{IMAGE_FOLDER}/{self.files[k]}"
        if self.kind == "store":
            return f"{self.root / PIXELS_FILE}[{self._rows[k]}]"
        return str(self.root / IMAGE_FOLDER / str(self.files[k]))

    def read_bytes(self, index: int) -> bytes:
        """The encoded (JPEG) bytes of item ``index`` (not for a store, which holds pixels)."""
        k = self.real_index(index)
        if self.kind == "archive":
            return read_range(self.root, self._offsets[k], self._sizes[k])
        if self.kind == "store":
            raise TypeError(f"{self.root} holds decoded pixels, not encoded images")
        with open(self.path(index), "rb") as f:
            return f.read()

    def pixels(self, index: int) -> np.ndarray:
        """Item ``index`` as its ``uint8`` ``(size, size, 3)`` square."""
        if self.kind == "store":
            if self._pixels is None:
                self._pixels, _ = open_store(self.root)
            return np.array(self._pixels[self._rows[self.real_index(index)]])
        return decode_pixels(self.read_bytes(index), self.image_size)

    def image(self, index: int) -> np.ndarray:
        """Item ``index`` as a preprocessed float32 ``(3, size, size)`` array in [-1, 1]."""
        return normalize(self.pixels(index))

    def attribute_row(self, index: int) -> np.ndarray:
        """The 40 attribute bits (0/1, int64) of item ``index``."""
        return self.attributes[self.real_index(index)].astype(np.int64)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.image(index), self.attribute_row(index)

    def has(self, name: str) -> np.ndarray:
        """Boolean mask over the items: which faces have the attribute ``name``."""
        column = self.attributes[:, attribute_index(self.attribute_names, name)].astype(bool)
        if len(self) == self.real_size:
            return column
        return column[np.arange(len(self)) % self.real_size]

    def __repr__(self) -> str:
        padded = f", padded from {self.real_size}" if self.padded else ""
        return f"{type(self).__name__}(split={self.split!r}, images={len(self)}{padded}, root={str(self.root)!r})"
