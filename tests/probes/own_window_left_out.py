"""Narrate the screen in the real main window and report what the model was shown (JSON on stdout).

Run by tests/e2e/test_screen.py on a real X server: the main window at the top left, another
program's magenta window beside it. For every picture the model was asked about it reports
how bright SmolSight's own window's area was (0: painted out) and how many magenta pixels
the picture held (the other program, which must be seen); and, for contrast, the same area
in a plain capture of the screen.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

from app.capture.frames import to_rgb_array
from app.inference.types import CancelToken, GenerationChunk, GenerationRequest
from app.ui.main_window import MainWindow
from tests.fakes import FakeBackend, FakeSpeaker, settings_of


class Recording(FakeBackend):
    """Answers like the fake backend and keeps every picture it was shown."""

    pictures: list[np.ndarray]

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        self.pictures.extend(to_rgb_array(f.image) for f in request.frames)
        return super().stream(request, cancel)


def main() -> int:
    app = QApplication(sys.argv[:1])
    backend = Recording(seconds_per_call=0.05)
    backend.pictures = []
    window = MainWindow(
        settings=settings_of(output="text", theme="high_contrast", narration_interval_s=0.5),
        make_backend=lambda _s: backend,
        speaker=FakeSpeaker(),
        config_path=Path(sys.argv[1]) / "settings.json",
        camera_names=lambda: [],
    )
    window.show()
    deadline = time.monotonic() + 30
    while window.view.state.status != "ready" and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    window.move(0, 0)
    window.resize(640, 480)  # beside the other program's window, not over it
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    window.session.continuous = False  # only the screen's pictures count: ask for one
    window.open_source("screen")
    # A description of the first source's picture may still be on its way: let it finish first.
    thread = window.session.model_thread
    while time.monotonic() < deadline and (thread.busy or thread.waiting):
        app.processEvents()
        time.sleep(0.02)
    backend.pictures.clear()
    asked = False
    while time.monotonic() < deadline and not backend.pictures:
        app.processEvents()
        if window.session.current_frame() is not None and not asked:
            asked = window.session.describe_now() is not None
        time.sleep(0.02)
    own = window.own_windows()[0]
    import mss

    with mss.MSS() as grabber:
        plain = np.asarray(grabber.grab(grabber.monitors[1]))[:, :, 2::-1]

    def area(picture: np.ndarray) -> np.ndarray:
        return picture[own.top : own.top + own.height, own.left : own.left + own.width]

    def magenta(picture: np.ndarray) -> int:
        r, g, b = picture[:, :, 0].astype(int), picture[:, :, 1].astype(int), picture[:, :, 2].astype(int)
        return int(((r > 200) & (g < 60) & (b > 200)).sum())

    report = {
        "pictures": len(backend.pictures),
        "own_window": [own.left, own.top, own.width, own.height],
        "own_area_brightest": [int(area(p).max()) for p in backend.pictures],
        "magenta_pixels": [magenta(p) for p in backend.pictures],
        "plain_capture_own_area_brightest": int(area(plain).max()),
    }
    window.close()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
