"""CelebA from the official Google Drive files (the original assignment's source), converted once.

``img_align_celeba.zip`` (1.4 GB, 202,599 JPEGs at 178x218) and ``list_attr_celeba.txt``
are fetched with ``gdown`` (Colab has it) unless they are already in ``folder``: a student
whose download hits the Drive's daily quota can put the two files there by hand (for
example into ``MyDrive/vaecourse/celeba`` on a mounted Google Drive). The zip is read in
place, member by member, and converted into the 64x64 store in blocks, without
extracting 202,599 files.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

from ..data import DataNotFoundError
from .attributes import ATTRIBUTES_FILE, read_attributes
from .images import decode_pixels
from .store import StoreWriter

ZIP_FILE = "img_align_celeba.zip"
# The official CelebA Google Drive files (the ids torchvision uses) and their checksums.
GDRIVE_FILES = {
    ZIP_FILE: ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb"),
    ATTRIBUTES_FILE: ("0B7EVK8r0v71pblRyaVFSWGxPY0U", "75e246fa4810816ffd6ee81facbd244c"),
}
BLOCK = 10_000  # faces per converted part


def md5(path: Path) -> str:
    """The MD5 hex digest of a file, read in 1 MB blocks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_official(folders: list[Path]) -> Path:
    """The folder holding both official files: the first of ``folders`` that has them, else
    ``folders[-1]`` after downloading the missing ones there with ``gdown``.

    Raises:
        DataNotFoundError: without ``gdown``, or when Google Drive fails (quota, network)
            or sends something else than the file (a quota page: wrong checksum).
    """
    for folder in folders:
        if all((folder / n).is_file() and md5(folder / n) == m for n, (_, m) in GDRIVE_FILES.items()):
            return folder
    target = folders[-1]
    target.mkdir(parents=True, exist_ok=True)
    for name, (file_id, checksum) in GDRIVE_FILES.items():
        path = target / name
        if path.is_file() and md5(path) == checksum:
            continue
        try:
            import gdown
        except ImportError as error:
            raise DataNotFoundError("gdown is not installed (pip install gdown)") from error
        try:
            result = gdown.download(id=file_id, output=str(path), quiet=False)
        except Exception as error:  # gdown raises many kinds (quota, network, ...)
            result, reason = None, f"{type(error).__name__}: {error}"
        else:
            reason = "Google Drive returned nothing"
        if result is not None and path.is_file() and md5(path) != checksum:
            path.unlink()
            result, reason = None, "wrong checksum: Google Drive sent a web page instead (its daily quota?)"
        if result is None:
            raise DataNotFoundError(f"downloading {name} from Google Drive failed ({reason})")
    return target


def convert_official(folder: Path, store: Path) -> Path:
    """Convert ``folder``'s ``img_align_celeba.zip`` and attribute file into the store at ``store``."""
    import sys

    from tqdm import tqdm

    table = read_attributes(folder / ATTRIBUTES_FILE)
    row_of = {str(name): k for k, name in enumerate(table.files)}
    writer = StoreWriter(store, table.names)
    with zipfile.ZipFile(folder / ZIP_FILE) as archive:
        members = sorted((m for m in archive.infolist() if m.filename.endswith(".jpg")),
                         key=lambda m: m.filename)
        members = [m for m in members if m.filename.rsplit("/", 1)[-1] in row_of]
        if not members:
            raise DataNotFoundError(f"{folder / ZIP_FILE} holds no image named in {ATTRIBUTES_FILE}")
        with tqdm(total=len(members), unit="face", desc=f"converting {ZIP_FILE}", file=sys.stderr,
                  mininterval=1.0) as bar:
            for start in range(0, len(members), BLOCK):
                part = f"zip:{start}"
                block = members[start : start + BLOCK]
                if part in writer.done:
                    bar.update(len(block))
                    continue
                names = [m.filename.rsplit("/", 1)[-1] for m in block]
                pixels = []
                for member in block:
                    pixels.append(decode_pixels(archive.read(member)))
                    bar.update(1)
                values = table.values[[row_of[n] for n in names]]
                writer.add(part, names, np.stack(pixels), values)
    return writer.finish("google-drive:img_align_celeba.zip")
