"""Cut a video into scenes while decoding it once, with bounded memory.

Frames are read in order; every 1/`detect_fps` seconds a tiny signature is compared with
the previous one to find cuts (a hard cut shows up within 1/`detect_fps` s of where it is),
and every 1/`fps` seconds a frame, shrunk to the model's 512 px tile, joins the current
segment. A segment ends at a cut or at `max_segment_s`, and is handed on at once, so
memory holds one segment's frames at most, however long the video is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.capture.change import ChangeGate
from app.capture.frames import Frame
from app.capture.media import MediaError, probe_video
from app.config import SummarySettings
from app.inference.images import LIVE_TILE


@dataclass(frozen=True)
class SegmentSettings:
    """How finely to sample and cut: the user's summary settings and the cut detector's own."""

    fps: float  # frames kept for the model, per second
    max_segment_s: float
    detect_fps: float = 4.0  # signatures compared for cut detection, per second
    cut_threshold: float = 30.0  # change score (0-100) between neighbours that counts as a cut
    min_segment_s: float = 1.5  # shorter pieces join their neighbour (flashes, fades)

    @classmethod
    def of(cls, summary: SummarySettings) -> SegmentSettings:
        """The cutting a summary's settings ask for."""
        return cls(fps=summary.fps, max_segment_s=summary.max_segment_s)

    def __post_init__(self) -> None:
        """The cut detector looks at least as often as the model does."""
        if self.detect_fps < self.fps:
            raise ValueError("detect_fps must be at least fps")


@dataclass(frozen=True)
class RawSegment:
    """A stretch of video between two cuts, with its sampled frames."""

    index: int
    start: float
    end: float
    frames: tuple[Frame, ...]


def _shrink(rgb: np.ndarray) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    scale = LIVE_TILE / max(h, w)
    if scale >= 1:
        return rgb
    return np.asarray(cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA))


def iter_segments(path: Path, settings: SegmentSettings | None = None) -> Iterator[RawSegment]:
    """Yield the video's segments in order (raises MediaError for unusable files)."""
    import cv2

    s = settings or SegmentSettings.of(SummarySettings())
    info = probe_video(path)
    duration = info.duration
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise MediaError(f"{path} can't be opened")
    frames: list[Frame] = []
    seg_start = 0.0
    index = 0
    next_keep = 0.0
    next_detect = 0.0
    previous: tuple[np.ndarray, np.ndarray] | None = None
    frame_no = 0
    last_t = 0.0
    try:
        while True:
            if not cap.grab():
                break
            t = frame_no / info.fps
            frame_no += 1
            last_t = t
            keep = t + 1e-6 >= next_keep
            detect = t + 1e-6 >= next_detect
            if not (keep or detect):
                continue
            ok, bgr = cap.retrieve()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            cut = False
            if detect:
                next_detect += 1.0 / s.detect_fps
                signature = ChangeGate.signature(Frame(rgb, t))
                if previous is not None:
                    cut = ChangeGate.score(previous, signature) >= s.cut_threshold
                previous = signature
            too_long = t - seg_start >= s.max_segment_s
            if (cut and t - seg_start >= s.min_segment_s) or too_long:
                if frames:
                    yield RawSegment(index, seg_start, t, tuple(frames))
                    index += 1
                frames = []
                seg_start = t
                next_keep = t  # the first frame of a new segment is always kept
                keep = True
            if keep:
                frames.append(Frame(_shrink(rgb), t))
                next_keep = t + 1.0 / s.fps
    finally:
        cap.release()
    if frame_no == 0:
        raise MediaError(f"{path} has no readable video frames")
    end = max(duration, last_t + 1.0 / info.fps)
    if frames:
        yield RawSegment(index, seg_start, end, tuple(frames))
