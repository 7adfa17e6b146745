"""The CelebA image pipeline: resize the shorter side, centre-crop, scale to [-1, 1].

The original assignment's ``Resize(64) -> CenterCrop(64) -> ToTensor() ->
Normalize(0.5, 0.5)`` without torchvision, in two steps so that the 8-bit result can be
stored once and normalized when read: :func:`crop_pixels` gives the ``uint8`` square
(178x218 and 89x109 both become 64x78, then the centre 64x64), :func:`normalize` maps
``v`` to ``v / 127.5 - 1`` in the channels-first layout of PyTorch.
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

IMAGE_SIZE = 64
ORIGINAL_SIZE = (178, 218)  # width, height of the aligned CelebA images


def resize_shorter_side(image: Image.Image, size: int = IMAGE_SIZE) -> Image.Image:
    """Resize so that the shorter side is ``size``, keeping the aspect ratio (bilinear).

    The same output size as torchvision's ``Resize(size)``: the longer side becomes
    ``int(size * long / short)``; 178x218 and 89x109 both give 64x78.
    """
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(size * long / short)
    new_size = (size, new_long) if width <= height else (new_long, size)
    if new_size == image.size:
        return image
    return image.resize(new_size, Image.BILINEAR)


def center_crop(image: Image.Image, size: int = IMAGE_SIZE) -> Image.Image:
    """The central ``size`` x ``size`` square (offsets rounded like torchvision's ``CenterCrop``).

    Raises:
        ValueError: if the image is smaller than ``size`` on a side.
    """
    width, height = image.size
    if width < size or height < size:
        raise ValueError(f"cannot crop {size}x{size} from a {width}x{height} image")
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def crop_pixels(image: Image.Image, size: int = IMAGE_SIZE) -> np.ndarray:
    """An image as the ``uint8`` ``(size, size, 3)`` square the model sees (before scaling)."""
    return np.asarray(center_crop(resize_shorter_side(image.convert("RGB"), size), size), np.uint8)


def normalize(pixels: np.ndarray) -> np.ndarray:
    """``uint8`` ``(H, W, 3)`` pixels as a float32 ``(3, H, W)`` array in [-1, 1]: ``v / 127.5 - 1``."""
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32) / np.float32(127.5) - 1


def preprocess(image: Image.Image, size: int = IMAGE_SIZE) -> np.ndarray:
    """An RGB PIL image as a float32 ``(3, size, size)`` array in [-1, 1] (crop, then scale)."""
    return normalize(crop_pixels(image, size))


def decode_pixels(data: bytes, size: int = IMAGE_SIZE) -> np.ndarray:
    """Encoded image bytes (JPEG, PNG, ...) as the ``uint8`` square of :func:`crop_pixels`."""
    with Image.open(io.BytesIO(data)) as image:
        return crop_pixels(image, size)


def load_image(path: str | os.PathLike, size: int = IMAGE_SIZE) -> np.ndarray:
    """Read one image file and :func:`preprocess` it."""
    with Image.open(path) as image:
        return preprocess(image, size)
