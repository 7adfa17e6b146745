"""CelebA without a framework: the image pipeline, the attributes, where the faces come from.

Modules, one concern each:

``images``      resize the shorter side to 64, centre-crop, scale to [-1, 1]
``attributes``  ``list_attr_celeba.txt``: the 40 attributes read, parsed, written
``archive``     an uncompressed tar read in place (the local 10,000-face subset)
``store``       the converted 64x64 ``uint8`` faces, read by memory map
``hub``         the Hugging Face mirror's parquet shards converted into a store
``gdrive``      the official Google Drive files (``gdown``) converted into a store
``synthetic``   drawn stand-in faces for a machine with no data (``ci`` profile only)
``sources``     :func:`locate`: which of those the notebook gets, in order
``faces``       :class:`Faces`, the indexable set of faces (NumPy items, optional padding)

The PyTorch ``Dataset`` and ``DataLoader`` are in :mod:`vaecourse.torch.celeba`.
"""

from .attributes import (
    ATTRIBUTE_NAMES,
    ATTRIBUTES_FILE,
    Attributes,
    parse_attributes,
    read_attributes,
)
from .faces import FULL_SIZE, Faces
from .images import IMAGE_SIZE, ORIGINAL_SIZE, load_image, preprocess
from .sources import SUBSET_ARCHIVE, locate

__all__ = [
    "ATTRIBUTES_FILE", "ATTRIBUTE_NAMES", "FULL_SIZE", "IMAGE_SIZE", "ORIGINAL_SIZE", "SUBSET_ARCHIVE",
    "Attributes", "Faces", "load_image", "locate", "parse_attributes", "preprocess", "read_attributes",
]  # fmt: skip
