"""What a `--source` names: `webcam[:N]`, `screen[:N]`, `window`, `sample`, or a file; the source for it."""

from __future__ import annotations

from pathlib import Path

from app.capture.media import MediaError, is_video_path, load_image
from app.capture.screen import ScreenSource
from app.capture.sources import SAMPLE_VIDEO, CameraSource, ImageSource, ThreadedSource, VideoFileSource


def parse_source(spec: str, *, realtime: bool = True, loop: bool = False) -> ThreadedSource:
    """A source from the CLI's `--source`: `webcam[:N]`, `screen[:N]`, `window`, `sample`, or a file."""
    if spec == "screen" or spec.startswith("screen:") or spec == "window":
        if spec == "window":
            return ScreenSource("window")
        _, _, number = spec.partition(":")
        if number and not number.isdigit():
            raise MediaError(f"'{spec}': the screen number must be a whole number, like screen:2")
        return ScreenSource("screen", int(number or 1))
    if spec == "webcam" or spec.startswith("webcam:"):
        _, _, index = spec.partition(":")
        if index and not index.isdigit():
            raise MediaError(f"'{spec}': the camera number must be a whole number, like webcam:1")
        return CameraSource(int(index or 0))
    if spec == "sample":
        return VideoFileSource(SAMPLE_VIDEO, realtime=realtime, loop=True)
    path = Path(spec).expanduser()
    if not path.exists():
        raise MediaError(f"File not found: {path}")
    if is_video_path(path):
        return VideoFileSource(path, realtime=realtime, loop=loop)
    try:
        load_image(path)
    except MediaError:
        return VideoFileSource(path, realtime=realtime, loop=loop)  # content decides; probe reports
    return ImageSource(path)
