"""The picture on the system clipboard: for `describe --clipboard` and the app's "Describe the clipboard"."""

from __future__ import annotations

import numpy as np

from app.capture.frames import CaptureError


def clipboard_image() -> np.ndarray:
    """The clipboard's picture as an RGB array, or a sentence saying why there is none."""
    from PySide6.QtGui import QGuiApplication, QImage

    app = QGuiApplication.instance()
    if app is None:  # the command line: Qt needs the display to reach the clipboard
        from app.capture.screen import screen_problem

        problem = screen_problem()
        if problem:
            raise CaptureError(problem.replace("no screen to capture", "no clipboard to read"))
        app = QGuiApplication([])
    assert isinstance(app, QGuiApplication)
    data = app.clipboard().mimeData()
    if data is None or not data.hasImage():
        if data is not None and data.hasText() and data.text().strip():
            raise CaptureError("the clipboard holds text, not a picture: copy a picture, then try again")
        raise CaptureError("the clipboard is empty: copy a picture (or take a screenshot), then try again")
    image = app.clipboard().image().convertToFormat(QImage.Format.Format_RGB888)
    if image.isNull():
        raise CaptureError("the clipboard's picture can't be read")
    height, width = image.height(), image.width()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    # A copy: the QImage's memory is freed with it, and the picture is read much later.
    return rows[:, : width * 3].reshape(height, width, 3).copy()
