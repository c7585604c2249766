"""The real main window, driven with pytest-qt, a slow fake backend and recorded speech."""

from __future__ import annotations

import gc
import itertools
import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.config import load_settings
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.video_view import VideoView
from tests.fakes import FakeBackend, FakeScreenReader, FakeSpeaker, settings_of
from tests.media import write_video
from tests.windows import new_window, open_window


def test_describe_now_updates_caption_history_and_speech(qtbot: QtBot, window: MainWindow) -> None:
    window.panel.video.setFocus()
    QTest.keyClick(window.panel.video, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.panel.history_list.count() == 1, timeout=5000)
    text = "A red mug on a wooden desk."
    assert window.panel.caption.text() == text
    assert window.panel.history_list.item(0).text().endswith(text)
    assert isinstance(window.speaker, FakeSpeaker) and window.speaker.history[-1] == text
    assert window.speaker.urgent[-1]  # the user's own request interrupts
    assert "first word" in window.status.latency_label.text()


def test_screen_reader_output_never_speaks_the_same_text(
    qtbot: QtBot, tmp_path: Path, no_dialogs: None
) -> None:
    w = open_window(qtbot, tmp_path, output="screen_reader")
    w.session.continuous = False
    spoken_before = list(w.speaker.history)  # type: ignore[union-attr]
    w.describe_now()
    qtbot.waitUntil(lambda: w.panel.history_list.count() == 1, timeout=5000)
    reader = w.announcer.screen_reader
    assert isinstance(reader, FakeScreenReader) and ("A red mug on a wooden desk.", True) in reader.heard
    assert w.speaker.history == spoken_before  # type: ignore[union-attr]
    w.close()


def test_a_stopped_answer_says_stopped_not_no_answer(qtbot: QtBot, tmp_path: Path, no_dialogs: None) -> None:
    slow = FakeBackend(seconds_per_call=3.0, tokens=30)
    w = open_window(qtbot, tmp_path, backend=slow)
    w.session.continuous = False
    w.describe_now()
    qtbot.waitUntil(lambda: w.panel.stop_button.isEnabled(), timeout=5000)
    qtbot.waitUntil(lambda: w.panel.caption.text().startswith("A red"), timeout=5000)  # some words are out
    QTest.keySequence(w, QKeySequence("Ctrl+."))
    qtbot.waitUntil(lambda: "(stopped)" in w.panel.caption.text(), timeout=5000)
    assert w.panel.caption.text().endswith(" … (stopped)")
    assert w.panel.caption_status.text() == "Stopped."
    assert isinstance(w.speaker, FakeSpeaker) and w.speaker.history[-1] == "Stopped."
    assert "no answer" not in w.panel.caption.text() + w.panel.caption_status.text()
    assert w.panel.history_list.count() == 0  # half an answer is not a description of the scene
    assert not w.session.narrator.log.recent()  # nor remembered for follow-up questions
    QTest.keySequence(w, QKeySequence("Ctrl+."))
    assert w.panel.caption_status.text() == "Nothing is being answered."
    w.close()


def test_dropping_a_video_file_opens_it(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    video = write_video(tmp_path / "street.mp4", [((10, 120, 200), 2.0)])
    asked: list[Path] = []
    window.choose_drop_action = lambda path: asked.append(path) or "narrate"  # the user picks "narrate live"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(video))])
    enter = QDragEnterEvent(
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, drop)
    assert asked == [video]
    assert "street.mp4" in window.panel.source_label.text()
    qtbot.waitUntil(
        lambda: window.panel.video.frames_shown > 0 and window.session.current_frame() is not None,
        timeout=5000,
    )


def test_dropping_something_else_is_refused(window: MainWindow, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_every_shortcut_triggers_its_action(qtbot: QtBot, window: MainWindow) -> None:
    fired: list[str] = []
    for name, action in window.menus.actions.items():
        action.triggered.connect(lambda _c=False, n=name: fired.append(n))
    with_keys = {n: a for n, a in window.menus.actions.items() if not a.shortcut().isEmpty() and n != "quit"}
    assert len(with_keys) >= 20
    for name, action in with_keys.items():
        window.activateWindow()
        window.panel.video.setFocus()
        QTest.keySequence(window, action.shortcut())
        assert fired and fired[-1] == name, f"{action.shortcut().toString()} did not trigger {name}"
    # Space describes when the picture has focus; Ctrl+Q quits. (Ctrl+K chose a camera: none here.)
    window.open_source("sample")
    qtbot.waitUntil(lambda: window.session.current_frame() is not None, timeout=5000)
    window.panel.video.setFocus()
    window.feedback.note("")
    QTest.keyClick(window.panel.video, Qt.Key.Key_Space)
    assert window.panel.caption_status.text() == "Describing…"
    QTest.keySequence(window, QKeySequence("Ctrl+Q"))
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_every_interactive_widget_has_an_accessible_name(window: MainWindow) -> None:
    def unnamed(root: QWidget) -> list[str]:
        interactive = (
            QAbstractButton,
            QLineEdit,
            QComboBox,
            QAbstractItemView,
            QAbstractSlider,
            QAbstractSpinBox,
            VideoView,
        )
        return [
            f"{type(w).__name__}({getattr(w, 'text', lambda: '')()})"
            for w in root.findChildren(QWidget)
            if isinstance(w, interactive)
            and not w.accessibleName().strip()
            and w.isVisibleTo(root)
            and not isinstance(w.parent(), (QComboBox, QAbstractSpinBox))  # Qt's internal parts
        ]

    assert unnamed(window) == []
    dialog = SettingsDialog(window.settings, voices=["Anne"], parent=window)
    assert unnamed(dialog) == []
    dialog.deleteLater()


def test_closing_the_window_leaves_no_thread_running(qtbot: QtBot, tmp_path: Path, no_dialogs: None) -> None:
    backend = FakeBackend(seconds_per_call=5.0, tokens=50)
    w = open_window(qtbot, tmp_path, backend=backend)
    w.describe_now()
    qtbot.waitUntil(lambda: backend.calls != [], timeout=3000)
    source = w.session.source
    start = time.monotonic()
    w.close()
    assert time.monotonic() - start < 2.0
    assert not w.session.model_thread.running
    assert source is not None and not source.running


def test_gui_thread_never_blocks_while_the_model_works(
    qtbot: QtBot, tmp_path: Path, no_dialogs: None
) -> None:
    video = write_video(
        tmp_path / "busy.mp4", [((30, 30, 30) if i % 2 else (220, 220, 220), 1.0) for i in range(6)]
    )
    backend = FakeBackend(seconds_per_call=1.2, tokens=24)
    w = open_window(qtbot, tmp_path, backend=backend, source=str(video), narration_interval_s=0.0)
    # What earlier tests left for the garbage collector is not this window's doing: a full
    # collection over it pauses every thread for a time that grows with the suite.
    gc.collect()
    gc.freeze()
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    try:
        timer.start()
        w.describe_now()
        # while the model is busy twice and the picture moves on (21 frames shown), the clock ticks
        qtbot.waitUntil(lambda: len(backend.calls) >= 2 and w.panel.video.frames_shown > 20, timeout=15000)
    finally:  # a failure here must not leave the rest of the suite with a frozen heap
        timer.stop()
        gc.unfreeze()
    assert len(backend.calls) >= 2  # the model really was busy
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 0.1, f"the GUI thread was blocked for {max(gaps) * 1000:.0f} ms"
    assert w.panel.video.frames_shown > 20  # the picture kept moving
    w.close()


def test_settings_dialog_saves_and_applies(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    def accept(dialog: SettingsDialog) -> QDialog.DialogCode:
        dialog.font_pt.setValue(40)
        dialog.verbosity.setCurrentIndex(dialog.verbosity.findData("detailed"))
        dialog.theme.setCurrentIndex(dialog.theme.findData("high_contrast"))
        dialog._on_accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", accept)
    window.open_settings()
    saved = load_settings(window.config_path)
    assert (saved.display.caption_font_pt, saved.narration.verbosity, saved.display.theme) == (
        40,
        "detailed",
        "high_contrast",
    )
    assert window.session.narrator.settings.verbosity == "detailed"
    assert "40pt" in QApplication.instance().styleSheet()  # type: ignore[union-attr]


def test_history_exports_and_can_be_switched_off(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    window.describe_now()
    qtbot.waitUntil(lambda: len(window.history_view.history) == 1, timeout=5000)
    assert window.export_history(tmp_path / "h.json")
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["entries"][0]["text"] == "A red mug on a wooden desk."
    assert window.export_history(tmp_path / "h.md")
    assert "A red mug" in (tmp_path / "h.md").read_text()
    assert not window.export_history(tmp_path / "h.docx")
    assert "Unknown export format" in window.panel.caption_status.text()
    window.panel.keep_history_box.setChecked(False)
    assert window.panel.history_list.count() == 0
    window.describe_now()
    qtbot.waitUntil(lambda: window.panel.caption_status.text().startswith("At "), timeout=5000)
    assert window.panel.history_list.count() == 0


def test_a_missing_camera_is_reported_and_the_app_stays_usable(qtbot: QtBot, window: MainWindow) -> None:
    window.open_source("webcam:9")
    assert isinstance(window.speaker, FakeSpeaker)
    said = window.speaker.history
    qtbot.waitUntil(lambda: any("Camera 9 could not be opened" in text for text in said), timeout=5000)
    assert window.open_source("sample")
    qtbot.waitUntil(lambda: window.session.current_frame() is not None, timeout=5000)
    window.describe_now()
    qtbot.waitUntil(lambda: window.panel.history_list.count() == 1, timeout=5000)


def test_a_question_is_answered_and_logged(qtbot: QtBot, window: MainWindow) -> None:
    window.panel.question.setText("What colour is the mug?")
    QTest.keyClick(window.panel.question, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.panel.history_list.count() == 1, timeout=5000)
    assert window.history_view.history.entries[0].question == "What colour is the mug?"
    assert "Q: What colour is the mug?" in window.panel.history_list.item(0).text()


def test_a_too_long_question_is_refused_with_a_message_and_kept(qtbot: QtBot, window: MainWindow) -> None:
    question = "Is it red? " * 7000  # 77,000 characters
    window.panel.question.setText(question)
    QTest.keyClick(window.panel.question, Qt.Key.Key_Return)
    assert "characters long" in window.panel.caption_status.text()
    assert window.panel.question.text() == question  # nothing the user typed is lost
    assert window.session.pending_jobs == 0


def test_the_app_narrates_the_sample_video_with_the_tiny_model(
    qtbot: QtBot, tmp_path: Path, tiny_model: Path, no_dialogs: None
) -> None:
    """`smolsight --model <tiny>`: the real window, the real engine, the bundled sample video."""
    from app.inference.factory import create_backend

    settings = settings_of(model=str(tiny_model), backend="transformers")
    window = new_window(qtbot, tmp_path, create_backend, settings=settings)
    events = []
    window.session.narration.connect(events.append)
    try:
        assert window.panel.source_label.text().startswith("Sample video (no camera needed)")
        qtbot.waitUntil(lambda: len(events) >= 1, timeout=120_000)
        assert window.status.model_label.text().startswith("Model: ")
        assert "transformers" in window.status.model_label.text()
    finally:
        window.close()
    assert not window.session.model_thread.running


def test_first_run_download_shows_progress(qtbot: QtBot, tmp_path: Path, no_dialogs: None) -> None:
    backend = FakeBackend(
        download_steps=((0, 2_000_000_000), (1_000_000_000, 2_000_000_000)), load_seconds=1.0
    )
    window = new_window(qtbot, tmp_path, lambda _settings: backend)
    qtbot.waitUntil(lambda: "Downloading the model" in window.status.model_label.text(), timeout=5000)
    assert window.status.progress.maximum() == 1000 and window.status.progress.value() == 500
    assert "1000 of 2000 MB" in window.status.model_label.text()
    # The engine is ready before the window has heard so (signals are queued): wait for what shows.
    qtbot.waitUntil(lambda: window.status.model_label.text().startswith("Model: "), timeout=5000)
    assert window.session.model_is_ready and not window.status.progress.isVisible()
    window.close()


def test_settings_dialog_keeps_every_value_it_does_not_change(qtbot: QtBot) -> None:
    original = settings_of(
        backend="openai",
        base_url="http://gpu-box:8080/v1",
        api_key="k",
        remote_model="m",
        voice="Anne",
        theme="dark",
        camera_index=2,
        memory=False,
    )
    dialog = SettingsDialog(original, voices=["Bob", "Anne"])
    qtbot.addWidget(dialog)
    assert original.with_values(dialog.values()) == original
