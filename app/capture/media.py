"""Reading still images and video files into frames, with clear errors for bad files."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.capture.frames import CaptureError, Frame
from app.limits import MAX_IMAGE_PIXELS

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


class MediaError(CaptureError):
    """A file that can't be used as a picture or video; the message says why."""


@dataclass(frozen=True)
class VideoInfo:
    """What OpenCV reports about a video file."""

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        """Length in seconds (0 when unknown)."""
        return self.frame_count / self.fps if self.fps > 0 else 0.0


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError(f"File not found: {path}")
    if path.is_dir():
        raise MediaError(f"{path} is a folder, not an image or video file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path} is empty (0 bytes)")


class ImageTooLarge(MediaError):
    """An image with more pixels than SmolSight reads."""


def _too_many_pixels(path: Path, size: str, limit: int) -> MediaError:
    return ImageTooLarge(
        f"{path} is {size}; SmolSight reads images up to {limit / 1e6:g} megapixels "
        "(the setting max_image_pixels)"
    )


def load_image(path: Path, *, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """An RGB uint8 array from an image file; images over `max_pixels` are refused before decoding."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, by our limit
            im = Image.open(path)
        with im:
            width, height = im.size
            if width * height > max_pixels:
                raise _too_many_pixels(
                    path, f"{width}×{height} pixels ({width * height / 1e6:.0f} megapixels)", max_pixels
                )
            im.load()
            return np.asarray(im.convert("RGB"))
    except Image.DecompressionBombError:
        raise _too_many_pixels(
            path, "far too large (a decompression bomb, or a giant image)", max_pixels
        ) from None
    except UnidentifiedImageError:
        raise MediaError(f"{path} is not an image file SmolSight can read") from None
    except MediaError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"{path} looks like an image but is damaged or truncated ({exc})") from None


def probe_video(path: Path) -> VideoInfo:
    """Open a video file and read its frame rate, length and size."""
    import cv2

    path = Path(path)
    _check_file(path)
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise MediaError(
                f"{path} can't be opened as a video: it may be damaged or incomplete, "
                "or its format or codec is not supported"
            )
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        ok, _ = cap.read()
        if not ok:
            raise MediaError(f"{path} has no readable video frames (empty, damaged, or an unsupported codec)")
    finally:
        cap.release()
    if not math.isfinite(fps) or fps <= 0 or fps > 1000:
        fps = 25.0  # some containers do not say; a common rate keeps timestamps sensible
    return VideoInfo(path, fps, max(count, 0), width, height)


def sample_video(
    path: Path,
    *,
    fps: float = 1.0,
    max_frames: int = 64,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> list[Frame]:
    """Frames at `fps` between `start_s` and `end_s`, at most `max_frames` (spread evenly).

    Reads sequentially and decodes only the frames it keeps (`grab` skips the rest), so
    memory holds only the kept frames. Timestamps are seconds from the start of the file.
    """
    import cv2

    info = probe_video(path)
    last = (info.frame_count - 1) / info.fps if info.frame_count > 0 else float("inf")
    end = last if end_s is None else min(end_s, last)
    span = max(end - start_s, 0.0)
    step = 1.0 / fps
    if math.isfinite(span) and span / step + 1 > max_frames:
        step = span / max(max_frames - 1, 1) if max_frames > 1 else span + 1
    wanted = start_s
    frames: list[Frame] = []
    cap = cv2.VideoCapture(str(path))
    try:
        index = 0
        if start_s > 0:
            cap.set(cv2.CAP_PROP_POS_MSEC, start_s * 1000)
            index = int(cap.get(cv2.CAP_PROP_POS_FRAMES) or 0)
        while len(frames) < max_frames:
            if not cap.grab():
                break
            t = index / info.fps
            index += 1
            if t > end + 1e-6:
                break
            if t + 0.5 / info.fps < wanted:
                continue
            ok, bgr = cap.retrieve()
            if not ok:
                break
            frames.append(Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t))
            wanted += step
    finally:
        cap.release()
    if not frames:
        raise MediaError(f"{path} has no readable video frames in the chosen range")
    return frames


def is_video_path(path: Path) -> bool:
    """Whether the file name says video (content is checked when it is opened)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def load_media(path: Path, *, fps: float, max_frames: int, max_pixels: int = MAX_IMAGE_PIXELS) -> list[Frame]:
    """One frame from an image, or a sampled clip from a video, decided by the content."""
    path = Path(path)
    _check_file(path)
    if is_video_path(path):
        return sample_video(path, fps=fps, max_frames=max_frames)
    try:
        return [Frame(load_image(path, max_pixels=max_pixels), 0.0)]
    except ImageTooLarge:
        raise  # an image, just too big: never hand it to the video decoder instead
    except MediaError as image_error:
        try:
            return sample_video(path, fps=fps, max_frames=max_frames)
        except MediaError:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                raise image_error from None
            raise MediaError(f"{path} is neither an image nor a video SmolSight can read") from None
