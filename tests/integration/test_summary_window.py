"""Summarizing from the desktop app: drop a video, progress, cancel, scenes, playback, export."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.devtools.dialogue_video import conversation, write_dialogue_video
from app.inference.backend import BackendError
from app.inference.types import GenerationRequest
from app.ui.main_window import MainWindow
from app.ui.summary_window import SummaryWindow
from tests.fakes import FakeBackend
from tests.media import offline_voice, write_video
from tests.windows import open_window


@pytest.fixture
def app_window(qtbot: QtBot, tmp_path: Path):  # type: ignore[no-untyped-def]
    backend = FakeBackend(seconds_per_call=0.3, tokens=6)
    window = open_window(qtbot, tmp_path, backend=backend)
    window.session.continuous = False
    yield window, backend
    window.close()
    assert not window.session.model_thread.running


def drop(window: MainWindow, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(*args)
    QApplication.sendEvent(window, enter)  # as a real drag does, first
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(*args))


def test_dropping_a_video_and_choosing_summarize(qtbot: QtBot, app_window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window, backend = app_window
    video = write_video(
        tmp_path / "walk.mp4", [((200, 40, 40), 4.0), ((40, 40, 200), 4.0), ((40, 200, 40), 4.0)]
    )
    window.choose_drop_action = lambda _path: "summarize"  # the user's answer to the question
    drop(window, video)
    assert len(window.summary_windows) == 1, window.errors
    summary: SummaryWindow = window.summary_windows[0]
    with qtbot.waitSignal(summary.finished, timeout=20000) as done:
        pass
    result = done.args[0]
    assert [round(s.start) for s in result.segments] == [0, 4, 8]
    assert summary.scenes.count() == 3 and summary.summary.text()
    assert summary.progress.value() == 1000
    assert summary.saved_to == tmp_path / "walk.smolsight.json" and summary.saved_to.exists()
    assert backend.load_thread == backend.calls[0].thread  # it ran on the model thread
    # Keyboard: move to the second scene, speak it, export.
    summary.scenes.setFocus()
    QTest.keyClick(summary.scenes, Qt.Key.Key_Down)
    assert summary.selected_start() == pytest.approx(4.0, abs=0.3)
    summary.speak_selected()
    assert window.speaker is not None and window.speaker.history[-1].startswith("[00:04")
    QTest.keyClick(summary.scenes, Qt.Key.Key_Return)  # play from the selected scene
    assert summary.player is not None
    assert summary.player.source().toLocalFile() == str(video)
    qtbot.waitUntil(lambda: summary.player.position() >= 3900, timeout=5000)
    paths = summary.export_to(tmp_path / "out", ["vtt", "srt"])
    assert [p.name for p in paths] == ["walk.smolsight.vtt", "walk.smolsight.srt"]
    summary.close()


def test_cancel_keeps_the_scenes_already_described(qtbot: QtBot, app_window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window, backend = app_window
    backend.seconds_per_call = 1.0
    scenes = [((200, 40, 40) if i % 2 else (40, 40, 200), 3.0) for i in range(6)]
    video = write_video(tmp_path / "long.mp4", scenes)
    summary = window.summarize_video(video)
    assert summary is not None
    qtbot.waitUntil(lambda: summary.scenes.count() >= 1, timeout=10000)
    with qtbot.waitSignal(summary.finished, timeout=10000) as done:
        QTest.keyClick(summary, Qt.Key.Key_Escape)
    result = done.args[0]
    assert result.partial and 1 <= len(result.segments) < 6
    assert "Stopped early" in summary.status.text()
    summary.close()


def test_a_summary_the_model_failed_to_write_is_said_missing_not_left_out(  # type: ignore[no-untyped-def]
    qtbot: QtBot, app_window, tmp_path: Path
) -> None:
    window, backend = app_window

    def answer(request: GenerationRequest) -> str:
        if not request.frames:  # the summary: text only
            raise BackendError("The server answered HTTP 500: slot unavailable")
        return "A red wall."

    backend.answer = answer
    video = write_video(tmp_path / "walk.mp4", [((200, 40, 40), 3.0), ((40, 40, 200), 3.0)])
    summary = window.summarize_video(video)
    assert summary is not None
    qtbot.waitUntil(lambda: summary.result is not None, timeout=20000)
    status = summary.status.text()
    assert status.startswith("Done, with gaps. 2 scenes.")
    assert "Summary missing: The server answered HTTP 500: slot unavailable." in status
    assert "Summary missing" in summary.summary.text()
    assert window.speaker is not None and "Summary missing" in window.speaker.history[-1]
    summary.close()


def test_a_bad_video_is_reported_in_the_main_window(app_window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window, _ = app_window
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    assert window.summarize_video(bad) is None
    assert "bad.mp4" in window.panel.caption_status.text()


def test_export_audio_description_then_play_it_with_the_description_track(  # type: ignore[no-untyped-def]
    qtbot: QtBot, app_window, tmp_path: Path
) -> None:
    window, backend = app_window
    scenes = iter(("A cup of coffee on a saucer.", "A cat looks at the camera.", "An astronaut by a flag."))
    backend.answer = lambda request: next(scenes, "A rocket on its pad.") if request.frames else "Things."
    talk = write_dialogue_video(
        tmp_path / "talk.mp4", conversation(18.0), seconds=18.0, voice=offline_voice()
    )
    summary = window.summarize_video(talk.path)
    assert summary is not None
    qtbot.waitSignal(summary.finished, timeout=20000).wait()
    assert summary.describe_button.isEnabled() and not summary.play_described_button.isEnabled()
    with qtbot.waitSignal(summary.describing.done, timeout=60000):
        assert summary.describe_to(tmp_path / "ad")
        assert summary.cancel_button.isEnabled()  # Esc or Cancel stops it
    assert sorted(p.name for p in (tmp_path / "ad").iterdir()) == [
        "talk.described.mp4",
        "talk.descriptions.vtt",
    ]
    assert "descriptions placed" in summary.status.text()
    assert window.speaker is not None and "talk.described.mp4" in window.speaker.history[-1]
    assert summary.play_described_button.isEnabled()
    summary.play_described_button.click()
    player = summary.player
    assert player.source().toLocalFile() == str(tmp_path / "ad" / "talk.described.mp4")
    qtbot.waitUntil(lambda: len(player.audioTracks()) == 2, timeout=10000)
    qtbot.waitUntil(lambda: player.activeAudioTrack() == 1, timeout=5000)  # "Audio description"
    summary.play_selected()  # back to the video itself
    assert player.source().toLocalFile() == str(talk.path)
    summary.close()


def test_cancelling_an_audio_description_leaves_nothing_behind(  # type: ignore[no-untyped-def]
    qtbot: QtBot, app_window, tmp_path: Path
) -> None:
    window, _backend = app_window
    talk = write_dialogue_video(
        tmp_path / "talk.mp4", conversation(12.0), seconds=12.0, voice=offline_voice()
    )
    summary = window.summarize_video(talk.path)
    assert summary is not None
    qtbot.waitSignal(summary.finished, timeout=20000).wait()
    with qtbot.waitSignal(summary.describing.cancelled, timeout=30000):
        assert summary.describe_to(tmp_path / "ad")
        QTest.keyClick(summary, Qt.Key.Key_Escape)
    assert not (tmp_path / "ad").exists() or not any((tmp_path / "ad").iterdir())
    assert summary.status.text() == "Audio description stopped; nothing was written."
    assert summary.describe_button.isEnabled()
    summary.close()
