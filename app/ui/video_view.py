"""The live picture: polls the newest frame with a timer and paints it without copying."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRect, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.capture.buffer import LatestFrame
from app.capture.frames import to_rgb_array


class VideoView(QWidget):
    """Shows the newest frame of whatever `latest()` returns, at up to `fps` updates a second.

    The frame's numpy buffer is wrapped in a QImage (no copy) and kept alive while it is
    shown; painting scales it into the widget keeping the aspect ratio.
    """

    def __init__(
        self, latest: Callable[[], LatestFrame], *, fps: float = 30.0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._latest = latest
        self._array: np.ndarray | None = None  # keeps the QImage's memory alive
        self._image: QImage | None = None
        self._seq = 0
        self.placeholder = "No picture yet"
        self.frames_shown = 0
        self.setMinimumSize(240, 135)  # small screens at large scaling leave little room beside it
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Live picture")
        self.setAccessibleDescription("The camera or video picture. Press Space to describe it.")
        self._timer = QTimer(self)
        self._timer.setInterval(max(5, int(1000 / fps)))
        self._timer.timeout.connect(self._on_tick)
        self._timer.start()

    @Slot()
    def _on_tick(self) -> None:
        frame, seq = self._latest().get()
        if frame is None:
            if self._image is not None and seq == 0:
                self._image = self._array = None
                self._seq = 0
                self.update()
            return
        if seq == self._seq:
            return
        self._seq = seq
        array = np.ascontiguousarray(to_rgb_array(frame.image))
        h, w = array.shape[:2]
        self._image = QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGB888)
        self._array = array
        self.frames_shown += 1
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the frame letterboxed, or the placeholder text."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("black"))
        if self._image is None:
            painter.setPen(QColor("white"))
            font = QFont(self.font())
            font.setPointSize(max(font.pointSize(), 14))
            painter.setFont(font)
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder
            )
        else:
            size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(self.rect().center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
        if self.hasFocus():
            painter.setPen(QColor("#ffd400"))
            painter.drawRect(self.rect().adjusted(1, 1, -2, -2))
        painter.end()

    def set_placeholder(self, text: str) -> None:
        """Text shown while there is no picture."""
        self.placeholder = text
        self.update()
