"""Write the bundled sample video from real photographs that scikit-image ships.

    python -m app.devtools.sample_video resources/sample.mp4

Five scenes (a cup of coffee, a cat, an astronaut, a rocket, a page of printed text), each
shown for `SCENE_SECONDS` with a slow pan and zoom, joined by hard cuts: real content with
known scene changes, so the app runs without a camera and tests know where the cuts are.
scikit-image is a development dependency (the `dev` extra); the app itself only plays the
committed file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SCENES = ("coffee", "chelsea", "astronaut", "rocket", "page")
SCENE_SECONDS = 6.0
FPS = 10.0
SIZE = (640, 360)  # width, height


def _photo(name: str) -> np.ndarray:
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image[:, :, :3].astype(np.uint8)


def _view(image: np.ndarray, progress: float) -> np.ndarray:
    """A 16:9 window that slowly zooms in (100 % → 85 %) and pans left to right."""
    import cv2

    h, w = image.shape[:2]
    aspect = SIZE[0] / SIZE[1]
    crop_w = min(w, int(h * aspect))
    crop_h = int(crop_w / aspect)
    zoom = 1.0 - 0.15 * progress
    cw, ch = int(crop_w * zoom), int(crop_h * zoom)
    x = int((w - cw) * progress)
    y = (h - ch) // 2
    window = image[y : y + ch, x : x + cw]
    return np.asarray(cv2.resize(window, SIZE, interpolation=cv2.INTER_AREA))


def write_sample_video(out: Path) -> Path:
    """Write the sample clip to `out` (MP4, about 30 s)."""
    import cv2

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MP4 files here")
    per_scene = int(SCENE_SECONDS * FPS)
    for name in SCENES:
        image = _photo(name)
        for i in range(per_scene):
            frame = _view(image, i / per_scene)
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return out


if __name__ == "__main__":
    print(write_sample_video(Path(sys.argv[1] if len(sys.argv) > 1 else "resources/sample.mp4")))
