"""Where the CelebA faces come from, in order (:func:`locate`).

1. ``VAECOURSE_DATA`` is set: ``img_align_celeba/`` with ``list_attr_celeba.txt`` there,
   else ``celeba_subset.tar`` (10,000 real faces at 89x109), read in place. Neither:
   :class:`~vaecourse.data.DataNotFoundError` naming the variable and the files.
2. A converted store from an earlier run: in the local cache, else on the mounted Google
   Drive (copied to the local disk once per session: reading a memory map through the
   Drive's network file system would be slow).
3. The Hugging Face hub mirror (:mod:`~vaecourse.celeba.hub`), converted once.
4. The official Google Drive files with ``gdown`` (:mod:`~vaecourse.celeba.gdrive`), the
   original assignment's source, converted once.
5. Nothing worked: an error that lists what failed and what to do; in the ``ci`` profile
   only, a small synthetic image folder, announced loudly.

A store converted in steps 3-4 is copied to Google Drive when it is mounted, so a new
Colab session finds it in step 2 instead of downloading again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .. import config, storage
from ..data import DataNotFoundError, announce_synthetic
from . import gdrive, hub
from .attributes import ATTRIBUTES_FILE
from .store import copy_store, is_store
from .synthetic import IMAGE_FOLDER, synthetic_celeba

SUBSET_ARCHIVE = "celeba_subset.tar"
STORE_FOLDER = "celeba64"
DOWNLOAD_FOLDER = "celeba"  # where the official files are put by hand or downloaded
SYNTHETIC_IMAGES = 256  # size of the no-data fallback (ci profile only)


def expected_files_message() -> str:
    """What to do when no CelebA could be had."""
    drive = storage.DRIVE_ROOT / storage.DRIVE_FOLDER / DOWNLOAD_FOLDER
    return (
        "What to do: check the runtime's internet connection and run the cell again (the "
        "Google Drive quota resets daily); or put img_align_celeba.zip and "
        f"{ATTRIBUTES_FILE} (from the CelebA website) into {drive} on a mounted Google Drive, "
        f"or into {config.cache_dir() / DOWNLOAD_FOLDER}; or set {config.DATA_ENV} to a "
        f"folder holding {SUBSET_ARCHIVE} (a tar of {IMAGE_FOLDER}/*.jpg and "
        f"{ATTRIBUTES_FILE}) or the folder {IMAGE_FOLDER}/ and {ATTRIBUTES_FILE}."
    )


def from_data_dir(folder: Path) -> Path:
    """The CelebA source in a local data folder (``VAECOURSE_DATA``).

    Raises:
        DataNotFoundError: naming the variable and the expected files.
    """
    if (folder / IMAGE_FOLDER).is_dir() and (folder / ATTRIBUTES_FILE).is_file():
        return folder
    archive = folder / SUBSET_ARCHIVE
    if archive.is_file():
        return archive
    if is_store(folder / STORE_FOLDER):
        return folder / STORE_FOLDER
    raise DataNotFoundError(
        f"CelebA: neither {archive} nor {folder / IMAGE_FOLDER}/ exists. "
        + expected_files_message()
    )


def _save_to_drive(store: Path) -> None:
    drive = storage.drive_dir()
    if drive is None:
        return
    try:
        copy_store(store, drive / STORE_FOLDER, "saving CelebA to Google Drive")
        print(f"CelebA saved to {drive / STORE_FOLDER}: the next session loads it from there.",
              file=sys.stderr)
    except OSError as error:  # a full Drive costs the next session a download, nothing else
        print(f"Could not save CelebA to Google Drive ({error}); it stays in {store}.", file=sys.stderr)


def download() -> Path:
    """A converted store: cached, from Google Drive, from the hub mirror or from gdown.

    Raises:
        DataNotFoundError: listing why the mirror and the Google Drive download failed.
    """
    local = config.cache_dir() / STORE_FOLDER
    if is_store(local):
        return local
    drive = storage.drive_dir()
    if drive is not None and is_store(drive / STORE_FOLDER):
        return copy_store(drive / STORE_FOLDER, local, "copying CelebA from Google Drive")
    failures = []
    try:
        store = hub.convert_mirror(local, config.cache_dir() / "hub-shards")
    except Exception as error:  # network, HTTP, a changed mirror, no pyarrow: try the next source
        failures.append(f"the Hugging Face mirror {hub.HUB_REPO} ({type(error).__name__}: {error})")
        print(f"CelebA: the hub mirror failed ({error}); trying Google Drive.", file=sys.stderr)
    else:
        _save_to_drive(store)
        return store
    folders = [config.cache_dir() / DOWNLOAD_FOLDER]
    if drive is not None:
        folders.insert(0, drive / DOWNLOAD_FOLDER)
    try:
        official = gdrive.fetch_official(folders)
        store = gdrive.convert_official(official, local)
    except Exception as error:
        failures.append(f"the official Google Drive files ({type(error).__name__}: {error})")
    else:
        _save_to_drive(store)
        return store
    raise DataNotFoundError(
        "CelebA could not be downloaded. Tried, in order: "
        + "; ".join(f"{k}. {f}" for k, f in enumerate(failures, 1)) + ". " + expected_files_message()
    )


def locate() -> Path:
    """The CelebA source: a folder, a tar archive or a converted store (see the module docstring).

    Raises:
        DataNotFoundError: no data in ``VAECOURSE_DATA``, or (full profile) no download.
    """
    folder = config.data_dir()
    if folder is not None:
        return from_data_dir(folder)
    try:
        return download()
    except DataNotFoundError as error:
        if not config.get_profile().is_ci:
            raise
        announce_synthetic("CelebA", "image folder (drawn faces)", error, expected_files_message())
        return synthetic_celeba(config.cache_dir() / "celeba_synthetic", SYNTHETIC_IMAGES)
