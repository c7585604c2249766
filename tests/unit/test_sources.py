"""Frame sources report problems as events: no camera, busy camera, bad files, end of file."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.capture.media import MediaError
from app.capture.source_spec import parse_source
from app.capture.sources import CameraSource, CaptureEvent, ImageSource, VideoFileSource
from tests.media import write_photo, write_video


class FakeCapture:
    """A VideoCapture-like camera: closed, busy (opens but no frames), or working."""

    def __init__(self, *, opened: bool = True, frames: int = 1000) -> None:
        self.opened = opened
        self.frames = frames
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def set(self, *_: object) -> bool:
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.frames <= 0:
            return False, None
        self.frames -= 1
        time.sleep(0.005)
        return True, np.zeros((48, 64, 3), np.uint8)

    def release(self) -> None:
        self.released = True


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for `condition` (polled every 10 ms), failing after `timeout` seconds: no fixed sleep."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def next_event(source: object, timeout: float = 5.0) -> CaptureEvent:
    events: queue.SimpleQueue[CaptureEvent] = source.events  # type: ignore[attr-defined]
    return events.get(timeout=timeout)


def test_missing_camera_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    cam = CameraSource(3, capture=FakeCapture(opened=False))
    cam.start()
    event = next_event(cam)
    assert event.kind == "no_camera" and "Camera 3 could not be opened" in event.message
    assert cam.stop()


def test_busy_camera_is_reported() -> None:
    cam = CameraSource(0, capture=FakeCapture(frames=0))
    cam.start()
    event = next_event(cam)
    assert event.kind == "camera_busy" and "another app" in event.message
    assert cam.stop()


def test_unplugged_camera_is_reported() -> None:
    cam = CameraSource(0, capture=FakeCapture(frames=5))
    cam.start()
    assert next_event(cam).kind == "started"
    assert next_event(cam).kind == "camera_lost"
    assert cam.stop()


def test_working_camera_publishes_newest_frames_and_stops_quickly() -> None:
    cam = CameraSource(0, capture=FakeCapture())
    cam.start()
    assert next_event(cam).kind == "started"
    wait_until(lambda: cam.latest.get()[1] > 5)  # the newest frames keep coming
    frame, seq = cam.latest.get()
    assert frame is not None and seq > 5
    start = time.monotonic()
    assert cam.stop(timeout=2)
    assert time.monotonic() - start < 1


def test_video_file_ends_with_an_event_and_paces_in_real_time(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", [((10, 200, 10), 1.0)], fps=10)
    src = VideoFileSource(video)
    start = time.monotonic()
    src.start()
    assert next_event(src).kind == "started"
    assert next_event(src).kind == "end_of_file"
    assert 0.8 < time.monotonic() - start < 3.0
    frame, _ = src.latest.get()
    assert frame is not None and frame.timestamp == pytest.approx(0.9)
    assert src.stop()


def test_looping_video_keeps_time_increasing(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", [((10, 200, 10), 0.5)], fps=10)
    src = VideoFileSource(video, realtime=False, loop=True)
    src.start()
    wait_until(lambda: (latest := src.latest.get()[0]) is not None and latest.timestamp > 0.5)
    frame, _ = src.latest.get()
    assert src.stop()
    assert frame is not None and frame.timestamp > 0.5  # the second time round counts on


def test_unreadable_files_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    src = VideoFileSource(bad)
    src.start()
    event = next_event(src)
    assert event.kind == "unreadable" and "bad.mp4" in event.message
    assert src.stop()


def test_image_source_republishes_the_picture(tmp_path: Path) -> None:
    src = ImageSource(write_photo(tmp_path / "p.png"), rate=20)
    src.start()
    assert next_event(src).kind == "started"
    wait_until(lambda: src.latest.get()[1] >= 3)  # published again and again
    _, seq = src.latest.get()
    assert src.stop()
    assert seq >= 3


def test_parse_source() -> None:
    assert isinstance(parse_source("webcam:2"), CameraSource)
    assert parse_source("webcam:2").index == 2  # type: ignore[attr-defined]
    with pytest.raises(MediaError, match="whole number"):
        parse_source("webcam:front")
    with pytest.raises(MediaError, match="File not found"):
        parse_source("/nope/missing.mp4")


def test_listing_cameras_with_none_attached(capsys: pytest.CaptureFixture[str]) -> None:
    from app.capture.sources import list_cameras
    from app.cli import main

    cameras = list_cameras()
    code = main(["narrate", "--list-cameras"])
    out = capsys.readouterr().out
    if cameras:  # a machine with a camera lists it
        assert code == 0 and f"webcam:{cameras[0]}" in out
    else:
        assert code == 1 and "No camera could be opened" in out
