"""Drawn stand-in faces, only for a machine with no CelebA at all (``ci`` profile only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .attributes import ATTRIBUTE_NAMES, ATTRIBUTES_FILE
from .images import ORIGINAL_SIZE

IMAGE_FOLDER = "img_align_celeba"
DONE_FILE = ".complete"


def synthetic_celeba(target: Path, n: int = 256, seed: int = 0) -> Path:
    """A small image folder of drawn faces at 178x218 with a matching attribute file.

    A face smiles exactly when its ``Smiling`` attribute is 1, so the notebook's attribute
    direction still has something to find.
    """
    if (target / DONE_FILE).is_file():
        return target
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    images = target / IMAGE_FOLDER
    images.mkdir(parents=True, exist_ok=True)
    width, height = ORIGINAL_SIZE
    rows = []
    for i in range(1, n + 1):
        values = rng.choice([-1, 1], size=len(ATTRIBUTE_NAMES))
        smiling = values[ATTRIBUTE_NAMES.index("Smiling")] == 1
        background = tuple(int(c) for c in rng.integers(0, 255, 3))
        skin = tuple(int(c) for c in rng.integers(120, 255, 3))
        image = Image.new("RGB", ORIGINAL_SIZE, background)
        draw = ImageDraw.Draw(image)
        cx, cy = width / 2 + rng.normal(0, 4), height / 2 + rng.normal(0, 4)
        draw.ellipse((cx - 55, cy - 75, cx + 55, cy + 75), fill=skin)
        for dx in (-25, 25):
            draw.ellipse((cx + dx - 8, cy - 25, cx + dx + 8, cy - 15), fill=(30, 30, 30))
        mouth = (cx - 30, cy + 15, cx + 30, cy + 45)
        draw.arc(mouth, 0 if smiling else 180, 180 if smiling else 360, fill=(150, 20, 20), width=5)
        name = f"{i:06d}.jpg"
        image.save(images / name, quality=90)
        rows.append(name + " " + " ".join(f"{v:2d}" for v in values))
    text = [str(n), " ".join(ATTRIBUTE_NAMES), *rows]
    (target / ATTRIBUTES_FILE).write_text("\n".join(text) + "\n")
    (target / DONE_FILE).write_text("synthetic")
    return target
