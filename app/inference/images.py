"""How a model sees pictures: its tile geometry (read from its folder) and the first, cheap downscale."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.capture.frames import Frame, to_rgb_array

if TYPE_CHECKING:
    from PIL import Image

# SmolVLM2-500M's: one 512 px tile (64 image tokens after the pixel shuffle); tiling resizes
# the longest edge to 2048 px first. Other models say their own in their processor files.
LIVE_TILE = 512
SPLIT_LONGEST_EDGE = 2048


@dataclass(frozen=True)
class ImageSettings:
    """How the processor turns a picture into tiles."""

    longest_edge: int  # first resize when tiling: longest edge to this
    tile: int  # the vision encoder's tile size (512 for the 500M, 384 for the 2.2B)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    rescale: float
    resample: int  # PIL's resampling filter number (1 = LANCZOS)

    @classmethod
    def from_folder(cls, folder: Path) -> ImageSettings:
        """Read `preprocessor_config.json` (or the combined `processor_config.json`)."""
        data: dict[str, object] = {}
        pre = folder / "preprocessor_config.json"
        if pre.exists():
            data = json.loads(pre.read_text())
        else:
            combined = folder / "processor_config.json"
            if combined.exists():
                data = json.loads(combined.read_text()).get("image_processor", {})
        size = data.get("size") or {"longest_edge": SPLIT_LONGEST_EDGE}
        tile = data.get("max_image_size") or {"longest_edge": LIVE_TILE}
        return cls(
            longest_edge=int(size["longest_edge"]),  # type: ignore[index]
            tile=int(tile["longest_edge"]),  # type: ignore[index]
            mean=tuple(float(x) for x in data.get("image_mean", (0.5, 0.5, 0.5))),  # type: ignore[arg-type,attr-defined]
            std=tuple(float(x) for x in data.get("image_std", (0.5, 0.5, 0.5))),  # type: ignore[arg-type,attr-defined]
            rescale=float(data.get("rescale_factor", 1 / 255)),  # type: ignore[arg-type]
            resample=int(data.get("resample", 1)),  # type: ignore[call-overload]
        )

    def limit(self, *, split: bool) -> int:
        """The longest edge a frame needs before the processor: one tile, or the tiling size."""
        return self.longest_edge if split else self.tile


def prepare_image(frame: Frame, limit: int) -> Image.Image:
    """Downscale a frame once, cheaply, to at most `limit` pixels along its longest edge.

    Without splitting the processor would squeeze any frame to one tile anyway; shrinking
    here with area averaging is faster and sharper than letting it resize a full-size frame
    twice. With splitting, cap at the processor's own longest edge.
    """
    import cv2
    from PIL import Image

    array = to_rgb_array(frame.image)
    h, w = array.shape[:2]
    scale = limit / max(h, w)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        array = cv2.resize(array, size, interpolation=cv2.INTER_AREA)
    return Image.fromarray(np.ascontiguousarray(array))


def remote_limit(*, split: bool) -> int:
    """For a model whose geometry we can't read (a remote server's): the 500M's."""
    return SPLIT_LONGEST_EDGE if split else LIVE_TILE
