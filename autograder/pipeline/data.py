"""The grading data folder: ``python -m autograder data OUT`` writes it from the public sources.

Grading kernels have no network (the sandbox), so they read the datasets from the folder in
``VAECOURSE_DATA``, in the layout the ``vaecourse`` loaders expect (``vaecourse.data``,
``vaecourse.celeba.sources``)::

    OUT/mnist.npz               Keras' MNIST file, as downloaded (x_train, y_train, x_test, y_test)
    OUT/cifar10_subset.npz      the complete CIFAR-10 (50,000 / 10,000), converted from the
                                official Python archive into Keras' layout (N, 32, 32, 3) uint8,
                                labels (N, 1); the loaders read this file name
    OUT/img_align_celeba/       the 202,599 aligned CelebA faces (178x218 JPEGs)
    OUT/list_attr_celeba.txt    their 40 attributes
    OUT/SHA256SUMS              the checksums of the files written (compare two graders' folders)

Every download is checked against the checksum its publisher gives (Keras' SHA-256 for MNIST
and CIFAR-10, the CelebA authors' MD5 as torchvision uses it) before it is used; a file that
is already there with the right checksum is not downloaded again. ``--mirror URL`` fetches
every file as ``URL/<file name>`` instead (a local copy; the tests use a server on 127.0.0.1).

:func:`require_grading_data` stops grading with a clear message when there is no such folder,
instead of letting the kernels fall back to synthetic data.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tarfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..course import Course

ALLOW_SYNTHETIC_ENV = "VAECOURSE_ALLOW_SYNTHETIC_DATA"
DATA_ENV = "VAECOURSE_DATA"
_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_DRIVE = "https://drive.usercontent.google.com/download?export=download&confirm=t&id="


@dataclass(frozen=True)
class Download:
    """One published file: where it is and the checksum its publisher gives."""

    name: str
    url: str
    algorithm: str  # "sha256" or "md5"
    digest: str


MNIST = Download("mnist.npz", _KERAS + "mnist.npz", "sha256",
                 "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")  # fmt: skip
CIFAR10 = Download("cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "sha256",
                   "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")  # fmt: skip
CELEBA_IMAGES = Download("img_align_celeba.zip", _DRIVE + "0B7EVK8r0v71pZjFTYXZWM3FlRnM", "md5",
                         "00d2c5bc6d35e252742224ab0c1e8fcb")  # fmt: skip
CELEBA_ATTRIBUTES = Download("list_attr_celeba.txt", _DRIVE + "0B7EVK8r0v71pblRyaVFSWGxPY0U", "md5",
                             "75e246fa4810816ffd6ee81facbd244c")  # fmt: skip
SOURCES = (MNIST, CIFAR10, CELEBA_IMAGES, CELEBA_ATTRIBUTES)

#: what the grading folder must hold (any one of the alternatives per dataset)
REQUIRED = {
    "MNIST": ("mnist.npz",),
    "CIFAR-10": ("cifar10_subset.npz",),
    "CelebA": ("img_align_celeba", "celeba_subset.tar", "celeba64"),
}


class DataError(RuntimeError):
    """A download failed or did not match its checksum; the message says which and what to do."""


def digest(path: Path, algorithm: str) -> str:
    """The hex digest of a file, read in 1 MB blocks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def fetch(source: Download, folder: Path, mirror: str | None = None, progress: bool = True) -> Path:
    """``source`` downloaded into ``folder`` and checked (kept when already there and right).

    Raises:
        DataError: the download failed or its checksum differs (the partial file is removed).
    """
    from tqdm.auto import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / source.name
    if path.is_file() and digest(path, source.algorithm) == source.digest:
        return path
    url = f"{mirror.rstrip('/')}/{source.name}" if mirror else source.url
    partial = path.with_name(path.name + ".part")
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "vaecourse-data"})
        with urllib.request.urlopen(request, timeout=60) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=source.name,
                      disable=not progress) as bar:  # fmt: skip
                while block := response.read(1 << 20):
                    out.write(block)
                    bar.update(len(block))
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise DataError(f"{source.name}: could not download {url}: {err}") from None
    found = digest(partial, source.algorithm)
    if found != source.digest:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"{source.name} from {url} has {source.algorithm} {found}, not the published "
            f"{source.digest}: a broken or changed download (run the command again, or use "
            "--mirror with a good copy)"
        )
    partial.replace(path)
    return path


def convert_cifar10(archive: Path, out: Path) -> Path:
    """The official Python archive -> ``out`` (.npz in Keras' layout)."""
    def batch(tar: tarfile.TarFile, name: str) -> tuple[np.ndarray, np.ndarray]:
        member = tar.extractfile(f"cifar-10-batches-py/{name}")
        if member is None:
            raise DataError(f"{archive} has no cifar-10-batches-py/{name}")
        # the archive's checksum was verified above: its pickles are the publisher's
        d = pickle.load(member, encoding="bytes")  # noqa: S301
        x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x, np.asarray(d[b"labels"], np.uint8).reshape(-1, 1)

    with tarfile.open(archive, "r:gz") as tar:
        names = sorted(n.rsplit("/", 1)[-1] for n in tar.getnames() if "/data_batch_" in n)
        train = [batch(tar, n) for n in names]
        x_test, y_test = batch(tar, "test_batch")
    np.savez(out, x_train=np.concatenate([x for x, _ in train]), y_train=np.concatenate([y for _, y in train]),
             x_test=x_test, y_test=y_test)  # fmt: skip
    return out


def extract_celeba(archive: Path, out: Path, progress: bool = True) -> Path:
    """``img_align_celeba.zip`` -> ``out/img_align_celeba/*.jpg`` (no paths outside it)."""
    from tqdm.auto import tqdm

    target = out / "img_align_celeba"
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as z:
        members = [m for m in z.infolist() if not m.is_dir() and m.filename.lower().endswith(".jpg")]
        for member in tqdm(members, desc="img_align_celeba", unit="img", disable=not progress):
            with z.open(member) as src, open(target / Path(member.filename).name, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return target


def write_data_folder(out: Path, *, mirror: str | None = None, sources: dict[str, Download] | None = None,
                      progress: bool = True, log: Callable[[str], None] = print) -> dict[str, str]:  # fmt: skip
    """Write the grading data folder into ``out``; return ``{file: sha256}`` of what it wrote.

    ``sources`` replaces published files by name (tests: fixtures with their own checksums).
    """
    chosen = {s.name: s for s in SOURCES} | (sources or {})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    downloads = out / ".download"
    got = {name: fetch(source, downloads, mirror, progress) for name, source in chosen.items()}
    shutil.copyfile(got[MNIST.name], out / "mnist.npz")
    with np.load(out / "mnist.npz") as f:
        if {"x_train", "y_train", "x_test", "y_test"} - set(f.files):
            raise DataError("mnist.npz lacks the arrays x_train, y_train, x_test, y_test")
    log("converting CIFAR-10")
    convert_cifar10(got[CIFAR10.name], out / "cifar10_subset.npz")
    extract_celeba(got[CELEBA_IMAGES.name], out, progress)
    shutil.copyfile(got[CELEBA_ATTRIBUTES.name], out / "list_attr_celeba.txt")
    shutil.rmtree(downloads)
    sums = {name: digest(out / name, "sha256") for name in ("mnist.npz", "cifar10_subset.npz", "list_attr_celeba.txt")}
    images = sorted((out / "img_align_celeba").iterdir())
    tree = hashlib.sha256()
    for image in images:
        tree.update(image.name.encode() + b"\0" + digest(image, "sha256").encode())
    sums["img_align_celeba/"] = tree.hexdigest()
    (out / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in sums.items()))
    return sums


def missing_data(folder: Path) -> list[str]:
    """The datasets a grading data folder lacks (``[]`` when complete)."""
    return [name for name, files in REQUIRED.items() if not any((folder / f).exists() for f in files)]


def require_grading_data(course: Course, allow_synthetic: bool | None = None) -> None:
    """Stop, with what to do, when grading the course would run on synthetic data.

    A course without its ``helpers/`` package (the autograder's test course) needs no data.
    ``allow_synthetic`` (default: ``VAECOURSE_ALLOW_SYNTHETIC_DATA=1``) lets it go on.

    Raises:
        SystemExit: no data folder, or one that lacks a dataset.
    """
    if allow_synthetic is None:
        allow_synthetic = os.environ.get(ALLOW_SYNTHETIC_ENV, "") == "1"
    if allow_synthetic or not (course.root / "helpers" / "pyproject.toml").is_file():
        return
    value = os.environ.get(DATA_ENV, "").strip()
    how = ("Write one with `python -m autograder data DIR` (downloads MNIST, CIFAR-10 and CelebA "
           f"from their publishers, checks them) and set {DATA_ENV}=DIR; for tests only, "
           "--allow-synthetic-data grades on small synthetic datasets.")  # fmt: skip
    if not value:
        raise SystemExit(f"Grading needs the real datasets, and {DATA_ENV} is not set (the grading "
                         f"kernels have no network). {how}")  # fmt: skip
    folder = Path(value).expanduser()
    lacking = missing_data(folder) if folder.is_dir() else list(REQUIRED)
    if lacking:
        raise SystemExit(f"{DATA_ENV}={value} lacks {', '.join(lacking)} "
                         f"({'; '.join(' or '.join(REQUIRED[n]) for n in lacking)}). {how}")  # fmt: skip
