"""Real media files for tests, written with OpenCV and Pillow; the offline voice that speaks them."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.video.voice import DEFAULT_WPM, Voice, find_voice


def offline_voice(wpm: int = DEFAULT_WPM) -> Voice:
    """The offline voice here; without one a test fails in CI (which installs espeak-ng), else skips."""
    voice = find_voice(wpm)
    if voice is None:
        if os.environ.get("SMOLSIGHT_REQUIRE_DESKTOP_TOOLS") == "1":
            pytest.fail("espeak-ng is not installed; .ci/run installs it")
        pytest.skip("no offline voice on this machine (Debian: espeak-ng)")
    return voice


def write_video(
    path: Path,
    scenes: list[tuple[tuple[int, int, int], float]],
    *,
    fps: float = 10.0,
    size: tuple[int, int] = (160, 120),
    moving_square: bool = True,
) -> Path:
    """Write an MP4 of coloured scenes (RGB, seconds), each with a moving white square.

    Each scene is its colour with a still, faint shading (a wall in a room, not a flat picture:
    one even colour is answered without the model, `app/reading/blank.py`).
    """
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened(), "OpenCV could not open a video writer"
    shading = np.linspace(-18, 18, w, dtype=np.float32)[None, :, None]
    n = 0
    for rgb, seconds in scenes:
        wall = np.clip(np.full((h, w, 3), rgb[::-1], np.float32) + shading, 0, 255).astype(np.uint8)
        for _ in range(round(seconds * fps)):
            frame = wall.copy()  # OpenCV writes BGR
            if moving_square:
                x = (n * 3) % (w - 20)
                frame[40:60, x : x + 20] = 255
            writer.write(frame)
            n += 1
    writer.release()
    return path


def photo() -> np.ndarray:
    """A 640×480 RGB test picture with some structure (gradient and shapes)."""
    y, x = np.mgrid[0:480, 0:640]
    img = np.stack([(x * 255 // 640), (y * 255 // 480), np.full_like(x, 90)], axis=2).astype(np.uint8)
    cv2.circle(img, (320, 240), 80, (250, 30, 30), -1)
    cv2.rectangle(img, (40, 40), (160, 120), (20, 200, 20), -1)
    return img


def write_photo(path: Path) -> Path:
    """Save `photo()` to `path` (format from the suffix)."""
    from PIL import Image

    Image.fromarray(photo()).save(path)
    return path
