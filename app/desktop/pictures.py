"""One picture of the screen or the active window, taken off the GUI thread, for a one-off description.

A capture goes through the window manager and the display server, which can be slow or stall:
the GUI thread only starts it and gets the picture (or the reason there is none) back as a
queued signal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.background import BackgroundJob
from app.capture.frames import CaptureError
from app.capture.screen import Rect, Target, capture_once


class PictureTaker(QObject):
    """Takes one picture at a time on a short-lived thread."""

    taken = Signal(object, str)  # the RGB array, and what it shows ("the active window")
    failed = Signal(str)  # why there is no picture, in one sentence

    def __init__(self, exclude: Callable[[], Sequence[Rect]] = lambda: ()) -> None:
        super().__init__()
        self.exclude = exclude
        self._job: BackgroundJob[np.ndarray] = BackgroundJob("smolsight-picture")

    def take(self, target: Target, what: str) -> bool:
        """Start taking a picture of `target`; False while one is still being taken."""
        if self._job.running:
            return False
        hidden = tuple(self.exclude())  # read on the GUI thread, where SmolSight's windows live

        def explain(exc: Exception) -> str:
            if isinstance(exc, CaptureError):
                return str(exc)
            return f"the picture could not be taken ({exc})"  # a display server failed otherwise

        return self._job.start(
            lambda: capture_once(target, hidden=hidden),
            done=lambda image: self.taken.emit(image, what),
            failed=self.failed.emit,
            explain=explain,
        )

    def wait(self, timeout: float = 5.0) -> bool:
        """Wait for a picture being taken (closing); False if it is still going."""
        return self._job.wait(timeout)
