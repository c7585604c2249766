"""How Qwen3.5 sees pictures: its pixel budget, the picture we hand over, and its token count.

Qwen's processor keeps a picture's shape and resizes it to whole 32-pixel blocks (16-pixel
patches merged 2 × 2: one image token per block) between a smallest and a largest pixel count
(`smart_resize`). Its largest is 16 M pixels: a screenshot would be thousands of tokens, far
too slow on a CPU. So every engine is handed the same picture, downscaled once here to a budget
per request (`LIVE_PIXELS`: about 200 tokens, a live description; `DETAIL_PIXELS` when small
print matters), and the processor's own rounding does the rest.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.capture.frames import Frame, to_rgb_array

LIVE_PIXELS = 448 * 448  # 196 image tokens
DETAIL_PIXELS = 896 * 896  # 784 image tokens: small print (the "split images" setting)


@dataclass(frozen=True)
class QwenVision:
    """The processor's geometry: patch size, merge size, smallest and largest pixel counts."""

    patch: int = 16
    merge: int = 2
    min_pixels: int = 65536
    max_pixels: int = 16777216

    @classmethod
    def from_folder(cls, folder: Path) -> QwenVision:
        """Read `preprocessor_config.json` (or the combined `processor_config.json`)."""
        data: dict[str, object] = {}
        pre = folder / "preprocessor_config.json"
        combined = folder / "processor_config.json"
        try:
            if pre.exists():
                data = json.loads(pre.read_text(encoding="utf-8"))
            elif combined.exists():
                data = json.loads(combined.read_text(encoding="utf-8")).get("image_processor", {})
        except (OSError, ValueError):
            data = {}
        size = data.get("size") if isinstance(data.get("size"), dict) else {}
        assert isinstance(size, dict)
        return cls(
            patch=int(data.get("patch_size", 16)),  # type: ignore[call-overload]
            merge=int(data.get("merge_size", 2)),  # type: ignore[call-overload]
            min_pixels=int(data.get("min_pixels", size.get("shortest_edge", 65536))),  # type: ignore[call-overload]
            max_pixels=int(data.get("max_pixels", size.get("longest_edge", 16777216))),  # type: ignore[call-overload]
        )

    @property
    def block(self) -> int:
        """The edge of the square one image token covers."""
        return self.patch * self.merge

    def resized(self, height: int, width: int) -> tuple[int, int]:
        """The size the processor resizes a picture to (Qwen2-VL's `smart_resize`)."""
        factor = self.block
        h = max(factor, round(height / factor) * factor)
        w = max(factor, round(width / factor) * factor)
        if h * w > self.max_pixels:
            beta = math.sqrt(height * width / self.max_pixels)
            h = max(factor, math.floor(height / beta / factor) * factor)
            w = max(factor, math.floor(width / beta / factor) * factor)
        elif h * w < self.min_pixels:
            beta = math.sqrt(self.min_pixels / (height * width))
            h = math.ceil(height * beta / factor) * factor
            w = math.ceil(width * beta / factor) * factor
        return h, w

    def image_tokens(self, height: int, width: int) -> int:
        """How many tokens the picture becomes."""
        h, w = self.resized(height, width)
        return (h // self.block) * (w // self.block)


def budget(*, split: bool) -> int:
    """The most pixels a picture is handed over with."""
    return DETAIL_PIXELS if split else LIVE_PIXELS


def fit_pixels(frame: Frame, max_pixels: int) -> np.ndarray:
    """The frame as RGB, downscaled (area averaging, shape kept) to at most `max_pixels` pixels."""
    import cv2

    array = to_rgb_array(frame.image)
    h, w = array.shape[:2]
    scale = math.sqrt(max_pixels / (h * w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        array = cv2.resize(array, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(array)
