"""Where SmolSight's own windows are on the screen, so a screen capture can leave them out.

SmolSight must never narrate its own captions. The capture thread paints these rectangles
out of every picture of the screen; they are read from Qt here, on the GUI thread, a few
times a second while the screen is being narrated, and handed over as one immutable tuple.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.capture.screen import Rect


class OwnWindows(QObject):
    """SmolSight's visible windows (menus and pop-ups too), in the screen's own pixels."""

    def __init__(self, interval_ms: int = 250) -> None:
        super().__init__()
        self.rects: tuple[Rect, ...] = ()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh)

    def __call__(self) -> tuple[Rect, ...]:
        """The rectangles as last read (safe to call from any thread)."""
        return self.rects

    def watch(self, on: bool) -> None:
        """Keep the rectangles current (while the screen is narrated), or stop."""
        if on:
            self.refresh()
            self._timer.start()
        else:
            self._timer.stop()

    def refresh(self) -> None:
        """Read where every visible window of this app is now."""
        found = []
        for window in QApplication.topLevelWidgets():
            if not window.isVisible():
                continue
            frame = window.frameGeometry()
            scale = window.devicePixelRatioF()  # logical to the screen's pixels (e.g. 200 %)
            found.append(
                Rect(
                    round(frame.x() * scale),
                    round(frame.y() * scale),
                    round(frame.width() * scale),
                    round(frame.height() * scale),
                )
            )
        self.rects = tuple(found)
