"""Frames: one picture and when it was taken, the frame limit, and conversion to RGB arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

ImageLike = Union[np.ndarray, "Image.Image"]


class CaptureError(ValueError):
    """A picture, file or device that can't be used; the message says why in plain words."""


@dataclass(frozen=True)
class Frame:
    """One picture and when it was taken, in seconds from the start of its source.

    `image` is an RGB `uint8` array of shape (height, width, 3), or a PIL image.
    """

    image: ImageLike
    timestamp: float = 0.0


def to_rgb_array(image: ImageLike) -> np.ndarray:
    """An RGB uint8 (H, W, 3) array from a numpy array (RGB, grey or RGBA) or a PIL image."""
    if not isinstance(image, np.ndarray):
        return np.asarray(image.convert("RGB"))
    array = image
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise CaptureError(f"a frame must be an RGB image, got an array of shape {array.shape}")
    if array.shape[2] == 4:
        array = array[:, :, :3]
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return array


def spread(frames: tuple[Frame, ...], count: int) -> tuple[Frame, ...]:
    """At most `count` frames spread evenly, first and last included."""
    if len(frames) <= count:
        return frames
    if count == 1:
        return (frames[len(frames) // 2],)
    step = (len(frames) - 1) / (count - 1)
    return tuple(frames[round(i * step)] for i in range(count))
