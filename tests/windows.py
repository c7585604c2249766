"""The real main window with injected parts, as the GUI tests open it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.config import EngineSettings, Settings
from app.inference.backend import VisionBackend
from app.speech.screen_reader_link import ScreenReaderLink
from app.ui.main_window import MainWindow
from app.ui.model_control import Fetch
from tests.fakes import FakeBackend, FakeScreenReader, FakeSpeaker, settings_of


def new_window(
    qtbot: QtBot,
    tmp_path: Path,
    make_backend: Callable[[EngineSettings], VisionBackend],
    *,
    settings: Settings | None = None,
    source: str | None = None,
    screen_reader_link: ScreenReaderLink | None = None,
    fetch_model: Fetch | None = None,
    model_downloaded: Callable[[EngineSettings], bool] | None = None,
) -> MainWindow:
    """A shown window with recorded (silent) speech, no cameras and its own settings file."""
    window = MainWindow(
        settings=settings or Settings(),
        make_backend=make_backend,
        speaker=FakeSpeaker(),
        config_path=tmp_path / "settings.json",
        initial_source=source,
        camera_names=lambda: [],
        screen_reader=FakeScreenReader(),
        screen_reader_link=screen_reader_link,
        fetch_model=fetch_model,
        model_downloaded=model_downloaded,
    )
    qtbot.addWidget(window)
    window.show()
    return window


def open_window(
    qtbot: QtBot,
    tmp_path: Path,
    *,
    backend: FakeBackend | None = None,
    source: str | None = None,
    screen_reader_link: ScreenReaderLink | None = None,
    **settings: object,
) -> MainWindow:
    """A window with a fake backend, once its model is ready and a picture has arrived."""
    fake = backend or FakeBackend(seconds_per_call=0.2)
    window = new_window(
        qtbot,
        tmp_path,
        lambda _s: fake,
        settings=settings_of(**settings),
        source=source,
        screen_reader_link=screen_reader_link,
    )
    # Wait for what the window shows, not only the engine's state: its Ready signal is queued.
    qtbot.waitUntil(lambda: window.status.model_label.text().startswith("Model: "), timeout=5000)
    qtbot.waitUntil(lambda: window.session.current_frame() is not None, timeout=5000)
    return window
