"""The first start, told truthfully: no model yet, downloading, a model that won't load; flags never saved."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QFileDialog
from pytestqt.qtbot import QtBot

from app.config import EngineSettings, Settings, load_settings, save_settings
from app.inference.backend import BackendError, VisionBackend
from app.inference.factory import choose_backend, create_backend
from app.inference.model_files import ModelUnavailable, download_progress
from app.inference.types import LoadProgressCallback
from app.ui.main_window import MainWindow
from tests.fakes import FakeBackend, FakeSpeaker, settings_of
from tests.windows import new_window


@pytest.fixture
def closing() -> Iterator[list[MainWindow]]:
    windows: list[MainWindow] = []
    yield windows
    for window in windows:
        window.close()


def test_with_no_model_the_window_says_so_at_once_and_how_to_get_it(
    qtbot: QtBot, tmp_path: Path, no_dialogs: None, closing: list[MainWindow]
) -> None:
    """The real backend factory, an empty model cache, no network: the normal first start offline."""
    start = time.monotonic()
    window = new_window(qtbot, tmp_path, create_backend, settings=Settings())
    closing.append(window)
    qtbot.waitUntil(lambda: window.view.state.status == "missing", timeout=5000)
    assert time.monotonic() - start < 2.0
    assert window.panel.caption.text() == "The model is not on this computer yet."
    panel = window.panel.model_panel
    assert panel.isVisible() and panel.download_button.isVisible() and panel.folder_button.isVisible()
    assert "SmolVLM2-500M-Video-Instruct" in panel.message.text()
    # what the download costs: the CPU engine's 8-bit ONNX files (the other engines: up to 2 GB)
    expected = "about 520 MB" if choose_backend("auto") == "openvino" else "up to 2 GB"
    assert expected in panel.message.text() and expected in panel.download_button.toolTip()
    assert "smolsight download" not in panel.message.text()  # no command the user can't run from here
    assert window.panel.narrate_button.text().replace("&", "") == "Narration: waiting for the model"
    assert window.status.model_label.text() == "Model: not on this computer yet"

    window.activateWindow()
    window.panel.video.setFocus()
    QTest.keySequence(window, QKeySequence("Ctrl+D"))  # describe now
    assert window.panel.caption.text() == "The model is not on this computer yet."  # the how-to stays
    said = window.panel.caption_status.text()
    assert said.startswith("The model HuggingFaceTB/SmolVLM2-500M-Video-Instruct is not on this computer yet")
    assert said.endswith(". Choose Download the model, or Use a model folder.")
    assert panel.isVisible()


class OfflineDownload:
    """A backend maker: no model without downloading; the download reports progress, then fails offline."""

    def __init__(self) -> None:
        self.downloads = 0

    def __call__(self, settings: EngineSettings) -> VisionBackend:
        maker = self

        class Backend(FakeBackend):
            def load(self, progress: LoadProgressCallback | None = None) -> None:
                if not settings.allow_download:
                    raise ModelUnavailable("The model X is not on this computer yet.")
                maker.downloads += 1
                if progress is not None:
                    progress(download_progress(0, 2_000_000_000))
                    progress(download_progress(500_000_000, 2_000_000_000))
                time.sleep(0.3)
                raise ModelUnavailable(
                    "The model X could not be downloaded: this computer seems to be offline.",
                    detail="LocalEntryNotFoundError: ConnectError: [Errno -2] Name or service not known",
                )

        return Backend()


def test_download_shows_progress_then_a_clear_offline_error(
    qtbot: QtBot, tmp_path: Path, no_dialogs: None, closing: list[MainWindow]
) -> None:
    maker = OfflineDownload()
    window = new_window(qtbot, tmp_path, maker)
    closing.append(window)
    qtbot.waitUntil(lambda: window.view.state.status == "missing", timeout=5000)
    assert maker.downloads == 0  # nothing is downloaded before the user asks
    QTest.mouseClick(window.panel.model_panel.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "500 of 2000 MB" in window.status.model_label.text(), timeout=5000)
    assert window.status.progress.isVisible() and window.status.progress.value() == 250
    assert "Downloading the model" in window.panel.caption.text()
    qtbot.waitUntil(lambda: window.view.state.status == "missing", timeout=5000)
    panel = window.panel.model_panel
    assert "seems to be offline" in panel.message.text()
    assert not panel.details.isVisible()
    QTest.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)
    assert panel.details.isVisible() and "Name or service not known" in panel.details.text()
    assert (
        "Name or service" not in window.panel.caption.text() + panel.message.text()
    )  # technical words stay in Details


def test_a_model_that_will_not_load_is_one_sentence_with_details_and_a_retry(
    qtbot: QtBot, tmp_path: Path, no_dialogs: None, closing: list[MainWindow]
) -> None:
    attempts: list[int] = []

    def make(settings: EngineSettings) -> VisionBackend:
        attempts.append(1)
        if len(attempts) == 1:

            class Broken(FakeBackend):
                def load(self, progress: LoadProgressCallback | None = None) -> None:
                    raise KeyError("lm_head.weight")

            return Broken()
        return FakeBackend()

    window = new_window(qtbot, tmp_path, make)
    closing.append(window)
    qtbot.waitUntil(lambda: window.view.state.status == "failed", timeout=5000)
    panel = window.panel.model_panel
    assert window.panel.caption.text() == "The model could not be loaded."
    assert panel.message.text() == "The model could not be loaded."
    assert "KeyError" in panel.details.text() and not panel.details.isVisible()
    assert panel.retry_button.isVisible() and not panel.download_button.isVisible()
    window.describe_now()
    assert window.panel.caption_status.text().startswith("The model could not be loaded.")
    QTest.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.view.state.status == "ready", timeout=5000)
    assert not panel.isVisible() and window.panel.narrate_button.text().replace("&", "") == "Narration: on"


def test_while_loading_commands_say_how_far_it_is(
    qtbot: QtBot, tmp_path: Path, no_dialogs: None, closing: list[MainWindow]
) -> None:
    backend = FakeBackend(download_steps=((1_000_000_000, 2_000_000_000),), load_seconds=1.5)
    window = new_window(qtbot, tmp_path, lambda _s: backend)
    closing.append(window)
    qtbot.waitUntil(lambda: window.status.progress.value() == 500, timeout=5000)
    window.describe_now()
    assert window.panel.caption_status.text() == (
        "The model is still loading (50% done); SmolSight can answer as soon as it is ready."
    )
    qtbot.waitUntil(lambda: window.view.state.status == "ready", timeout=5000)


def test_use_a_model_folder_loads_it_and_remembers_the_folder(
    qtbot: QtBot, tmp_path: Path, no_dialogs: None, closing: list[MainWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[str | None] = []

    def make(settings: EngineSettings) -> VisionBackend:
        loaded.append(settings.model)
        if settings.model is None:
            raise ModelUnavailable("The model X is not on this computer yet.")
        return FakeBackend()

    folder = tmp_path / "my-model"
    folder.mkdir()
    asked: list[str] = []

    def choose(_parent: object, _title: str, start: str) -> str:
        asked.append(start)
        return str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", choose)
    window = new_window(qtbot, tmp_path, make)
    closing.append(window)
    qtbot.waitUntil(lambda: window.view.state.status == "missing", timeout=5000)
    window.describe_now()
    assert window.panel.caption_status.text().endswith("Choose Download the model, or Use a model folder.")
    QTest.mouseClick(window.panel.model_panel.folder_button, Qt.MouseButton.LeftButton)
    # While it loads, the window says so, and nothing says there is no model any more.
    assert window.view.state.status == "loading" and window.panel.caption.text() == "Loading the model…"
    assert "not on this computer" not in window.panel.caption_status.text()
    qtbot.waitUntil(lambda: window.view.state.status == "ready", timeout=5000)
    assert loaded[-1] == str(folder)
    assert load_settings(window.config_path).engine.model == str(folder)  # the user's own choice is saved
    QTest.mouseClick(window.panel.model_panel.folder_button, Qt.MouseButton.LeftButton)
    assert asked[-1] == str(folder)  # the dialog starts where the user last chose


def test_command_line_flags_are_never_written_to_the_settings_file(
    qtbot: QtBot, tmp_path: Path, no_dialogs: None, closing: list[MainWindow]
) -> None:
    """`smolsight --model X` then a theme change: the file keeps its own model."""
    config = tmp_path / "settings.json"
    save_settings(settings_of(theme="light"), config)
    saved = load_settings(config)
    run = saved.changed("engine", model=str(tmp_path / "tiny"), backend="transformers")
    window = MainWindow(
        settings=run,
        saved_settings=saved,
        make_backend=lambda _s: FakeBackend(),
        speaker=None,
        config_path=config,
        camera_names=lambda: [],
    )
    qtbot.addWidget(window)
    closing.append(window)
    window.prefs.next_theme()
    after = load_settings(config)
    assert after.display.theme != "light"
    assert after.engine.model is None and after.engine.backend == "auto"  # the flags stayed out of the file
    assert window.settings.engine.model == str(tmp_path / "tiny")  # and still apply to this run


def test_theme_changes_are_announced_by_name_and_never_a_no_op(
    qtbot: QtBot, tmp_path: Path, no_dialogs: None, closing: list[MainWindow]
) -> None:
    from app.ui.theme import resolve_theme

    window = new_window(qtbot, tmp_path, lambda _s: FakeBackend(), settings=settings_of(theme="system"))
    closing.append(window)
    shown = resolve_theme("system")
    qtbot.waitUntil(lambda: window.view.state.status == "ready", timeout=5000)
    window.activateWindow()
    window.panel.video.setFocus()
    QTest.keySequence(window, QKeySequence("Ctrl+T"))
    assert resolve_theme(window.settings.display.theme) != shown  # the first Ctrl+T changes what is seen
    assert isinstance(window.speaker, FakeSpeaker)
    said = window.speaker.history
    assert said and said[-1].startswith("Theme: ")


def test_the_settings_dialog_writes_only_what_the_user_changed(
    qtbot: QtBot, tmp_path: Path, closing: list[MainWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.ui.settings_dialog import SettingsDialog

    config = tmp_path / "settings.json"
    saved = Settings()
    window = MainWindow(
        settings=saved.changed("engine", model="/some/flag/folder"),
        saved_settings=saved,
        make_backend=lambda _s: FakeBackend(),
        speaker=None,
        config_path=config,
        camera_names=lambda: [],
    )
    qtbot.addWidget(window)
    closing.append(window)

    def accept(dialog: SettingsDialog) -> QDialog.DialogCode:
        dialog.font_pt.setValue(40)
        dialog._on_accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", accept)
    window.open_settings()
    after = load_settings(config)
    assert after.display.caption_font_pt == 40 and after.engine.model is None


def test_model_errors_in_the_terminal_say_how_to_fix_them_from_there(tmp_path: Path) -> None:
    from app.terminal import failure_text

    text = failure_text("The model X is not on this computer yet, and offline mode is on.", missing=True)
    assert "download" in text and "--model" in text
    assert failure_text("The model could not be loaded.", missing=False) == "The model could not be loaded."
    with pytest.raises(BackendError):
        raise ModelUnavailable("x")


@pytest.mark.slow
def test_the_app_keeps_the_terminal_quiet_and_ctrl_c_closes_it(tmp_path: Path) -> None:
    """Qt, FFmpeg, PipeWire and speech-plug-in chatter go to the log; the terminal gets only true messages."""
    import os
    import signal
    import subprocess
    import sys

    env = {
        **os.environ,
        "SMOLSIGHT_CONFIG": str(tmp_path / "settings.json"),
        "HF_HUB_CACHE": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "app"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    log = tmp_path / "state" / "SmolSight" / "log" / "smolsight.log"
    deadline = time.monotonic() + 60
    while not (log.exists() and "did not load" in log.read_text()):
        assert app.poll() is None and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.2)
    app.send_signal(signal.SIGINT)
    out, err = app.communicate(timeout=20)
    assert app.returncode == 0
    assert err.strip() == "" and out.strip() == ""
    assert "not on this computer yet" in log.read_text()  # the details are in the log
