"""Reading an uncompressed tar archive in place: member offsets once, then plain reads.

The local ``celeba_subset.tar`` (10,000 faces) is never extracted: its member headers are
indexed once per process (about 0.2 s) and each image is read from its byte offset when
it is needed, so the read-only, fresh-per-kernel sandbox of the autograder pays nothing.
"""

from __future__ import annotations

import functools
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import DataNotFoundError


def read_range(path: str | Path, offset: int, size: int) -> bytes:
    """``size`` bytes of the file ``path`` from byte ``offset``."""
    with open(path, "rb") as f:
        f.seek(int(offset))
        return f.read(int(size))


@dataclass(frozen=True)
class ArchiveIndex:
    """Where each member of an uncompressed tar archive lies: names, byte offsets and sizes."""

    path: Path
    names: np.ndarray  # member names, fixed-width strings
    offsets: np.ndarray  # int64 byte offsets of the members' data
    sizes: np.ndarray  # int64 sizes in bytes

    @classmethod
    def build(cls, path: Path) -> ArchiveIndex:
        """Read the member headers of ``path`` (no data is read).

        Raises:
            DataNotFoundError: if ``path`` is not an uncompressed tar archive.
        """
        try:
            with tarfile.open(path, "r:") as tar:  # offsets only mean something uncompressed
                members = [m for m in tar.getmembers() if m.isfile()]
        except tarfile.ReadError as error:
            raise DataNotFoundError(f"CelebA: {path} is not an uncompressed tar archive") from error
        return cls(
            path,
            np.array([m.name for m in members]),
            np.array([m.offset_data for m in members], dtype=np.int64),
            np.array([m.size for m in members], dtype=np.int64),
        )

    def locate(self, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Byte offsets and sizes of the members ``names`` (an array of member names).

        Raises:
            KeyError: naming the first member that the archive does not hold.
        """
        names = np.asarray(names)
        order = np.argsort(self.names)
        where = np.searchsorted(self.names, names, sorter=order).clip(0, len(self.names) - 1)
        rows = order[where] if len(self.names) else where
        missing = self.names[rows] != names if len(self.names) else np.ones(len(names), bool)
        if missing.any():
            raise KeyError(f"{self.path} has no member {str(names[missing][0])!r}")
        return self.offsets[rows], self.sizes[rows]

    def read(self, name: str) -> bytes:
        """The bytes of the member ``name`` (a small, whole-file read)."""
        (offset,), (size,) = self.locate(np.array([name]))
        return read_range(self.path, offset, size)


@functools.lru_cache(maxsize=4)
def _cached_index(path: str, size: int, mtime_ns: int) -> ArchiveIndex:
    return ArchiveIndex.build(Path(path))


def archive_index(path: str | Path) -> ArchiveIndex:
    """The :class:`ArchiveIndex` of ``path``, built once per process and file version."""
    path = Path(path).resolve()
    stat = path.stat()
    return _cached_index(str(path), stat.st_size, stat.st_mtime_ns)
