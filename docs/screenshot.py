"""Open the real window on the sample video for the README screenshot.

    xvfb-run -a .venv/bin/python docs/screenshot.py   # then take a screenshot of the window

The window, sample video, narration policy and history are the real ones. The descriptions
are scripted (one per sample scene, written by us) because real SmolVLM2 weights cannot be
downloaded where this picture is made; a random-weight test model would only show noise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.config import Settings
from app.devtools.sample_video import SCENE_SECONDS
from app.inference.generation import StatsClock
from app.inference.types import (
    BackendInfo,
    CancelToken,
    GenerationChunk,
    GenerationRequest,
    LoadProgressCallback,
)
from app.ui.main_window import MainWindow

SCRIPT = [
    "A cup of coffee on a saucer, with a spoon, on a wooden table.",
    "A tabby cat looks straight at the camera.",
    "A person in an orange space suit stands in front of a flag.",
    "A rocket stands on a launch pad at dusk, lit from below.",
    "A printed page titled 'Region-based segmentation'.",
]


class ScriptedBackend:
    """Answers with the scripted line for the scene the frame comes from."""

    info = BackendInfo("scripted (screenshot)", "SmolVLM2-500M-Video-Instruct", "cpu", "float32")

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        time.sleep(0.5)

    def warm_up(self) -> None:
        pass

    def close(self) -> None:
        pass

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        clock = StatsClock()
        clock.preprocessed(92)
        t = request.frames[-1].timestamp if request.frames else 0.0
        text = SCRIPT[int(t // SCENE_SECONDS) % len(SCRIPT)]
        for word in text.split(" "):
            time.sleep(0.04)
            clock.token()
            yield GenerationChunk(word + " ", clock.stats())
        yield GenerationChunk("", clock.stats(finish="stop"))


def main() -> int:
    app = QApplication(sys.argv[:1])
    settings = Settings().with_values(
        {("speech", "output"): "text", ("narration", "interval_s"): 1.0, ("display", "caption_font_pt"): 26}
    )
    window = MainWindow(
        settings=settings,
        make_backend=lambda _settings: ScriptedBackend(),
        speaker=None,
        config_path=Path("/tmp/x.json"),
    )
    window.resize(1400, 860)
    window.show()
    QTimer.singleShot(9000, lambda: window.panel.question.setText("What colour is the rocket?"))
    if "--summary" in sys.argv:  # the summary window over the same sample video
        from app.capture.sources import SAMPLE_VIDEO

        QTimer.singleShot(2000, lambda: window.summarize_video(SAMPLE_VIDEO))
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
