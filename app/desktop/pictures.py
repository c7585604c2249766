"""One picture of the screen or the active window, taken off the GUI thread, for a one-off description.

A capture goes through the window manager and the display server, which can be slow or stall:
the GUI thread only starts it and gets the picture (or the reason there is none) back as a
queued signal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal

from app.capture.frames import CaptureError
from app.capture.screen import Rect, Target, capture_once


class PictureTaker(QObject):
    """Takes one picture at a time on a short-lived thread."""

    taken = Signal(object, str)  # the RGB array, and what it shows ("the active window")
    failed = Signal(str)  # why there is no picture, in one sentence

    def __init__(self, exclude: Callable[[], Sequence[Rect]] = lambda: ()) -> None:
        super().__init__()
        self.exclude = exclude
        self._thread: threading.Thread | None = None

    def take(self, target: Target, what: str) -> bool:
        """Start taking a picture of `target`; False while one is still being taken."""
        if self._thread is not None and self._thread.is_alive():
            return False
        hidden = tuple(self.exclude())  # read on the GUI thread, where SmolSight's windows live

        def run() -> None:
            try:
                image = capture_once(target, hidden=hidden)
            except CaptureError as exc:
                self.failed.emit(str(exc))
            except Exception as exc:  # a display server that failed in some other way
                self.failed.emit(f"the picture could not be taken ({exc})")
            else:
                self.taken.emit(image, what)

        self._thread = threading.Thread(target=run, name="smolsight-picture", daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float = 5.0) -> bool:
        """Wait for a picture being taken (closing); False if it is still going."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
