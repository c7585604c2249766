"""Starting the desktop app: the QApplication, the speaker and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.config import Settings
from app.inference.factory import create_backend
from app.live.speech import make_speaker
from app.ui.main_window import MainWindow


def run_app(settings: Settings, *, source: str | None = None, config_path: Path | None = None) -> int:
    """Create the application and window, and run until the window closes; the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("SmolSight")
    app.setApplicationDisplayName("SmolSight")
    speaker = None if settings.output != "speech" else make_speaker()
    window = MainWindow(
        settings=settings,
        make_backend=create_backend,
        speaker=speaker,
        config_path=config_path,
        initial_source=source,
    )
    window.show()
    QTimer.singleShot(0, window.video.setFocus)
    return int(app.exec())
