"""Where downloads, converted data and checkpoints persist: Google Drive when mounted.

A Colab session loses its disk when it ends. When the student has mounted Google Drive
(``from google.colab import drive; drive.mount("/content/drive")``), :func:`persistent_dir`
is ``/content/drive/MyDrive/vaecourse``, so the converted CelebA and the training
checkpoints survive into the next session; otherwise it is the local cache
(:func:`vaecourse.config.cache_dir`). Framework-free.
"""

from __future__ import annotations

from pathlib import Path

from . import config

DRIVE_ROOT = Path("/content/drive/MyDrive")  # where Colab mounts "My Drive"
DRIVE_FOLDER = "vaecourse"


def drive_dir() -> Path | None:
    """``<My Drive>/vaecourse`` (created) when Google Drive is mounted, else None."""
    if not DRIVE_ROOT.is_dir():
        return None
    path = DRIVE_ROOT / DRIVE_FOLDER
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # mounted read-only, or the Drive is full
        return None
    return path


def persistent_dir() -> Path:
    """The Drive folder when Drive is mounted, else the local cache."""
    return drive_dir() or config.cache_dir()
