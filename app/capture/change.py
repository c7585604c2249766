"""The change gate (plain Python, no Qt): whether the scene changed enough since the model last looked.

Live narration asks the model only when it has (`app.narration.policy`); video summaries cut
scenes with the same measure (`app.video.segments`).
"""

from __future__ import annotations

import numpy as np

from app.capture.frames import Frame, to_rgb_array


class ChangeGate:
    """A cheap scene-change test that ignores sensor noise and small camera motion.

    The change score (0–100) is the larger of two measures against the last frame the
    model saw: the distance between coarse colour histograms (a new scene or a new
    object of another colour; unaffected by panning) and the mean difference of 16×9 grey
    thumbnails in percent (something moved or the light changed a lot). A score of
    `threshold` or more counts as a change. Costs well under a millisecond per frame.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._reference: tuple[np.ndarray, np.ndarray] | None = None
        self.skipped = 0
        self.passed = 0

    @staticmethod
    def signature(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(16×9 grey thumbnail as float32, normalized 4×4×4 colour histogram)."""
        import cv2

        rgb = to_rgb_array(frame.image)
        small = cv2.resize(rgb, (64, 36), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(cv2.resize(small, (16, 9), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        # RGB rather than hue: hue is noise for the near-grey pixels most rooms are full of.
        hist = cv2.calcHist([small], [0, 1, 2], None, [4, 4, 4], [0, 256, 0, 256, 0, 256]).ravel()
        return np.asarray(grey, np.float32), hist / max(float(hist.sum()), 1.0)

    @staticmethod
    def score(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
        """The change score (0-100) between two signatures."""
        colour = float(np.abs(a[1] - b[1]).sum()) * 50.0  # half the L1 distance, in %
        light = float(np.mean(np.abs(a[0] - b[0]))) / 2.55
        return max(colour, light)

    def difference(self, frame: Frame) -> float:
        """The change score of `frame` against the reference (inf when there is none)."""
        if self._reference is None:
            return float("inf")
        return self.score(self.signature(frame), self._reference)

    def check(self, frame: Frame) -> bool:
        """Whether the scene changed; counts skipped frames. Does not move the reference."""
        changed = self.difference(frame) >= self.threshold
        if changed:
            self.passed += 1
        else:
            self.skipped += 1
        return changed

    def accept(self, frame: Frame) -> None:
        """Make `frame` the reference (the model is about to see it)."""
        self._reference = self.signature(frame)

    def reset(self) -> None:
        """Forget the reference: the next frame counts as a change."""
        self._reference = None
