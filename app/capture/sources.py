"""Frame sources: webcam, video file, still image, bundled sample; each read on its own thread.

A source reads continuously and publishes the newest frame to a `LatestFrame` mailbox
(OpenCV's own buffer-size setting is ignored by many camera drivers, so we never let frames
pile up there). Problems become `CaptureEvent`s in a queue that the UI and CLI drain and
report; a source never raises into its reader and never hangs silently.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from app.capture.buffer import LatestFrame
from app.capture.frames import Frame
from app.capture.media import MediaError, load_image, probe_video
from app.paths import resource_file

EventKind = Literal[
    "started",
    "no_camera",
    "camera_busy",
    "permission_denied",
    "camera_lost",
    "unreadable",
    "end_of_file",
    "stopped",
]

SAMPLE_VIDEO = resource_file("sample.mp4")


@dataclass(frozen=True)
class CaptureEvent:
    """Something the user should hear about a source: it started, ended, or failed."""

    kind: EventKind
    message: str
    source: str

    @property
    def is_error(self) -> bool:
        """Whether the source can't deliver frames."""
        return self.kind not in {"started", "end_of_file", "stopped"}


class FrameSource(Protocol):
    """Anything that publishes frames to `latest` and reports events to `events`."""

    latest: LatestFrame
    events: queue.SimpleQueue[CaptureEvent]

    @property
    def name(self) -> str:
        """What to call the source in messages ("Camera 0", "kitchen.mp4")."""
        ...

    def start(self) -> None:
        """Begin reading on a background thread."""
        ...

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop reading; return False if the thread did not end within `timeout`."""
        ...

    @property
    def running(self) -> bool:
        """Whether the reading thread is alive."""
        ...


class VideoCaptureLike(Protocol):
    """The part of OpenCV's VideoCapture the sources use (tests inject a fake)."""

    def isOpened(self) -> bool:
        """Whether the device or file opened."""
        ...

    def read(self) -> tuple[bool, np.ndarray]:
        """The next frame (BGR), or (False, …) when there is none."""
        ...

    def set(self, prop: int, value: float) -> bool:
        """Set a capture property."""
        ...

    def release(self) -> None:
        """Close the device or file."""
        ...


class ThreadedSource:
    """Shared thread handling: subclasses implement `_open()` and `_read()`; `_cap` is released."""

    def __init__(self, latest: LatestFrame | None = None) -> None:
        self.latest = latest or LatestFrame()
        self.events: queue.SimpleQueue[CaptureEvent] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap: Any = None  # an OpenCV VideoCapture (VideoCaptureLike), for the sources that use one

    @property
    def name(self) -> str:
        """What to call the source in messages."""
        raise NotImplementedError

    def _emit(self, kind: EventKind, message: str) -> None:
        self.events.put(CaptureEvent(kind, message, self.name))

    def start(self) -> None:
        """Start the reading thread (once)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"smolsight-capture-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        """Whether the reading thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            if not self._open():
                return
            self._emit("started", f"{self.name} started")
            while not self._stop.is_set():
                if not self._read():
                    break
            else:
                self._emit("stopped", f"{self.name} stopped")
        except Exception as exc:  # a driver failure must become a message, not a dead thread
            self._emit("unreadable", f"{self.name} failed: {exc}")
        finally:
            self._close()

    def _open(self) -> bool:
        raise NotImplementedError

    def _read(self) -> bool:
        raise NotImplementedError

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()


def _bgr_to_frame(bgr: np.ndarray, timestamp: float) -> Frame:
    import cv2

    return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), timestamp)


class CameraSource(ThreadedSource):
    """A webcam through OpenCV, read as fast as it delivers."""

    def __init__(
        self,
        index: int = 0,
        *,
        width: int | None = 1280,
        height: int | None = 720,
        capture: VideoCaptureLike | None = None,
    ) -> None:
        """`capture` injects a VideoCapture-like object (tests); by default OpenCV opens `index`."""
        super().__init__()
        self.index = index
        self.width = width
        self.height = height
        self._cap = capture
        self._t0 = 0.0
        self._failures = 0

    @property
    def name(self) -> str:
        """'Camera N'."""
        return f"Camera {self.index}"

    def _open(self) -> bool:
        import cv2

        if self._cap is None:
            self._cap = cv2.VideoCapture(self.index)
        if not self._cap.isOpened():
            kind: EventKind = "no_camera"
            hint = "Check that a camera is connected, or open a video file instead."
            if sys.platform == "darwin":
                kind = "permission_denied"
                hint = (
                    "macOS may be blocking camera access: allow it for this app (or Terminal) in "
                    "System Settings → Privacy & Security → Camera, then try again."
                )
            self._emit(kind, f"{self.name} could not be opened. {hint}")
            return False
        if self.width and self.height:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        ok, bgr = self._cap.read()
        if not ok:
            self._emit(
                "camera_busy",
                f"{self.name} opened but sends no pictures: another app may be using it, "
                "or access is blocked. Close other camera apps and try again.",
            )
            return False
        self._t0 = time.monotonic()
        self.latest.put(_bgr_to_frame(bgr, 0.0))
        return True

    def _read(self) -> bool:
        ok, bgr = self._cap.read()
        if not ok:
            self._failures += 1
            if self._failures >= 30:
                self._emit("camera_lost", f"{self.name} stopped sending pictures (unplugged?).")
                return False
            time.sleep(0.02)
            return True
        self._failures = 0
        self.latest.put(_bgr_to_frame(bgr, time.monotonic() - self._t0))
        return True


class _FileSource(ThreadedSource):
    """A source read from a file, named after it."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)

    @property
    def name(self) -> str:
        """The file name."""
        return self.path.name


class VideoFileSource(_FileSource):
    """A video file, paced in real time (live narration) or read as fast as possible."""

    def __init__(self, path: Path, *, realtime: bool = True, loop: bool = False, speed: float = 1.0) -> None:
        """`speed` > 1 plays faster than real time (tests, previews)."""
        super().__init__(path)
        self.realtime = realtime
        self.loop = loop
        self.speed = speed
        self._fps = 25.0
        self._index = 0
        self._offset = 0.0
        self._t0 = 0.0

    def _open(self) -> bool:
        import cv2

        try:
            info = probe_video(self.path)
        except MediaError as exc:
            self._emit("unreadable", str(exc))
            return False
        self._fps = info.fps
        self._cap = cv2.VideoCapture(str(self.path))
        self._t0 = time.monotonic()
        return True

    def _read(self) -> bool:
        import cv2

        ok, bgr = self._cap.read()
        if not ok:
            if self.loop and self._index > 0:
                self._offset += self._index / self._fps
                self._index = 0
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                return True
            self._emit("end_of_file", f"End of {self.name}.")
            return False
        t = self._offset + self._index / self._fps
        self._index += 1
        if self.realtime:
            due = self._t0 + t / self.speed
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return False
        self.latest.put(_bgr_to_frame(bgr, t))
        return True


class ImageSource(_FileSource):
    """A still image, republished a few times a second so live narration can run on it."""

    def __init__(self, path: Path, *, rate: float = 2.0) -> None:
        super().__init__(path)
        self.rate = rate
        self._image: np.ndarray | None = None
        self._t0 = 0.0

    def _open(self) -> bool:
        try:
            self._image = load_image(self.path)
        except MediaError as exc:
            self._emit("unreadable", str(exc))
            return False
        self._t0 = time.monotonic()
        self.latest.put(Frame(self._image, 0.0))
        return True

    def _read(self) -> bool:
        if self._stop.wait(1.0 / self.rate):
            return False
        assert self._image is not None
        self.latest.put(Frame(self._image, time.monotonic() - self._t0))
        return True


def list_cameras(max_index: int = 4) -> list[int]:
    """Indices of cameras OpenCV can open (probing is slow: call off the GUI thread)."""
    import cv2

    found = []
    if sys.platform.startswith("linux"):
        candidates = sorted(int(p.name[5:]) for p in Path("/dev").glob("video[0-9]*"))
    else:
        candidates = list(range(max_index + 1))
    for index in candidates[: max_index + 1]:
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened():
                found.append(index)
        finally:
            cap.release()
    return found
