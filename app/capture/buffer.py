"""Between capture and model: the newest-frame mailbox and the rolling 1 FPS frame buffer."""

from __future__ import annotations

import threading
from collections import deque

from app.capture.frames import Frame
from app.limits import MAX_FRAMES


class LatestFrame:
    """Holds only the newest frame; a newer `put()` replaces an unread one.

    Readers (the video view, the narration session) see the newest frame and its sequence
    number; nothing queues up behind a slow reader. `dropped` counts frames replaced before
    anyone read them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._seq = 0
        self._read_seq = 0
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        """Publish a frame (capture thread)."""
        with self._lock:
            if self._frame is not None and self._read_seq != self._seq:
                self.dropped += 1
            self._frame = frame
            self._seq += 1

    def get(self) -> tuple[Frame | None, int]:
        """The newest frame and its sequence number (0 before the first frame)."""
        with self._lock:
            self._read_seq = self._seq
            return self._frame, self._seq


class FrameBuffer:
    """Samples a stream at a fixed rate and keeps the last `capacity` frames.

    `offer()` keeps a frame only if at least 1/fps seconds passed (by the frame's own
    timestamp) since the last kept one, so a 30 FPS camera or a paced video both become
    1 FPS history. `clip(seconds)` hands out the recent past for "what just happened".
    """

    def __init__(self, *, fps: float, capacity: int) -> None:
        if fps <= 0:
            raise ValueError(f"frame buffer rate must be more than 0 FPS, got {fps}")
        if not 1 <= capacity <= MAX_FRAMES:
            raise ValueError(f"frame buffer size must be between 1 and {MAX_FRAMES}, got {capacity}")
        self.fps = fps
        self._frames: deque[Frame] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """How many frames are kept."""
        return self._frames.maxlen or 0

    def offer(self, frame: Frame) -> bool:
        """Keep `frame` if it is due; return whether it was kept."""
        with self._lock:
            if self._frames:
                gap = frame.timestamp - self._frames[-1].timestamp
                if gap < 0:  # the source restarted (a looping video): start a new history
                    self._frames.clear()
                elif gap < 1.0 / self.fps - 1e-3:
                    return False
            self._frames.append(frame)
            return True

    def latest(self) -> Frame | None:
        """The most recent kept frame."""
        with self._lock:
            return self._frames[-1] if self._frames else None

    def clip(self, seconds: float) -> list[Frame]:
        """Kept frames from the last `seconds` (by timestamp), oldest first."""
        with self._lock:
            if not self._frames:
                return []
            newest = self._frames[-1].timestamp
            return [f for f in self._frames if f.timestamp >= newest - seconds - 1e-6]

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def clear(self) -> None:
        """Drop the history."""
        with self._lock:
            self._frames.clear()
