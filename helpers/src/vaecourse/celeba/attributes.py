"""The 40 CelebA attributes: ``list_attr_celeba.txt`` read, parsed and written."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

ATTRIBUTES_FILE = "list_attr_celeba.txt"
ATTRIBUTE_NAMES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair",
    "Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair",
    "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache",
    "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings",
    "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)  # fmt: skip


def attribute_index(names: tuple[str, ...], name: str) -> int:
    """Column of the attribute ``name`` among ``names``.

    Raises:
        KeyError: naming the known attributes, for a name not among them.
    """
    if name not in names:
        raise KeyError(f"no attribute {name!r}; known: {', '.join(names)}")
    return names.index(name)


@dataclass(frozen=True)
class Attributes:
    """The contents of ``list_attr_celeba.txt``.

    Attributes:
        names: the 40 attribute names, in file order.
        files: image file names, a NumPy array of fixed-width strings (no Python objects).
        values: ``(N, 40)`` int8 array of -1 / +1, as in the file.
    """

    names: tuple[str, ...]
    files: np.ndarray
    values: np.ndarray

    def index(self, name: str) -> int:
        """Column of the attribute ``name`` (KeyError naming the known ones otherwise)."""
        return attribute_index(self.names, name)


def parse_attributes(text: str, source: str = ATTRIBUTES_FILE) -> Attributes:
    """Parse the text of ``list_attr_celeba.txt``: a count line, a line of names, one row per image.

    Raises:
        ValueError: (naming ``source``) if the text does not have that layout.
    """
    lines = text.splitlines()
    if len(lines) < 2:
        raise ValueError(f"{source}: expected a count line and a header line")
    try:
        count = int(lines[0].strip())
    except ValueError as error:
        raise ValueError(f"{source}: the first line should be the number of images") from error
    names = tuple(lines[1].split())
    rows = [line.split() for line in lines[2:] if line.strip()]
    if len(rows) != count:
        raise ValueError(f"{source}: the count line says {count} images, found {len(rows)} rows")
    if any(len(row) != len(names) + 1 for row in rows):
        raise ValueError(f"{source}: every row needs a file name and {len(names)} values")
    files = np.array([row[0] for row in rows])
    values = np.array([row[1:] for row in rows], dtype=np.int8).reshape(len(rows), len(names))
    if not np.isin(values, (-1, 1)).all():
        raise ValueError(f"{source}: attribute values must be -1 or 1")
    return Attributes(names, files, values)


def read_attributes(path: str | os.PathLike) -> Attributes:
    """Read and parse a ``list_attr_celeba.txt`` file (see :func:`parse_attributes`)."""
    with open(path, encoding="utf-8") as f:
        return parse_attributes(f.read(), str(path))


def format_attributes(table: Attributes) -> str:
    """The text of ``list_attr_celeba.txt`` for ``table`` (what :func:`parse_attributes` reads)."""
    rows = (f"{name} " + " ".join(f"{v:2d}" for v in row) for name, row in zip(table.files, table.values, strict=True))
    return "\n".join([str(len(table.files)), " ".join(table.names), *rows]) + "\n"
