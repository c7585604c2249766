"""Choosing another model in the window: it downloads beside the model in use, which keeps answering.

A real main window (pytest-qt) with fake engines per model and a fake download that the test
holds and releases, so every step is seen in order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from app.config import EngineSettings, load_settings
from app.inference.backend import BackendError
from app.inference.model_files import download_progress
from app.inference.types import LoadProgressCallback
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import OTHER_MODEL, SettingsDialog
from tests.fakes import FakeBackend, settings_of
from tests.windows import new_window


class HeldDownload:
    """A download that reports half-way, then waits for the test to let it finish (or fail)."""

    def __init__(self) -> None:
        self.asked: list[str | None] = []
        self.release = threading.Event()
        self.fail_with = ""

    def __call__(self, settings: EngineSettings, progress: LoadProgressCallback | None) -> Path:
        self.asked.append(settings.model)
        if progress is not None:
            progress(download_progress(450_000_000, 900_000_000))
        assert self.release.wait(10)
        if self.fail_with:
            raise BackendError(self.fail_with)
        return Path("/models/qwen")


@pytest.fixture
def held() -> HeldDownload:
    return HeldDownload()


@pytest.fixture
def window(
    qtbot: QtBot, tmp_path: Path, held: HeldDownload
) -> Iterator[MainWindow]:  # while a download is held
    engines = {
        None: FakeBackend(answer=lambda _r: "A mug, said by the default model."),
        "qwen3.5-0.8b": FakeBackend(answer=lambda _r: "A white mug with a blue handle, said by Qwen."),
    }
    w = new_window(qtbot, tmp_path, lambda s: engines[s.model], settings=settings_of(), fetch_model=held)
    qtbot.waitUntil(lambda: w.status.model_label.text().startswith("Model: "), timeout=5000)
    qtbot.waitUntil(lambda: w.session.current_frame() is not None, timeout=5000)
    w.session.continuous = False
    yield w
    held.release.set()
    w.close()


def choose_in_settings(window: MainWindow, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def accept(dialog: SettingsDialog) -> QDialog.DialogCode:
        dialog.model_choice.setCurrentIndex(dialog.model_choice.findData(name))
        dialog._on_accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", accept)
    window.open_settings()


def describe(qtbot: QtBot, window: MainWindow) -> str:
    count = window.panel.history_list.count()
    window.describe_now()
    qtbot.waitUntil(lambda: window.panel.history_list.count() == count + 1, timeout=5000)
    return window.panel.caption.text()


def test_the_model_in_use_answers_while_the_chosen_one_downloads(
    qtbot: QtBot, window: MainWindow, held: HeldDownload, monkeypatch: pytest.MonkeyPatch
) -> None:
    choose_in_settings(window, monkeypatch, "qwen3.5-0.8b")
    assert load_settings(window.config_path).engine.model == "qwen3.5-0.8b"
    qtbot.waitUntil(lambda: "Downloading Qwen3.5-0.8B: 450 of 900 MB" in window.feedback.current_notice)
    assert window.status.progress.isVisible() and window.status.progress.value() == 500
    assert held.asked == ["qwen3.5-0.8b"]
    assert describe(qtbot, window) == "A mug, said by the default model."  # still answering
    held.release.set()
    qtbot.waitUntil(lambda: window.feedback.current_notice == "", timeout=5000)
    qtbot.waitUntil(lambda: window.session.model_is_ready, timeout=5000)
    qtbot.waitUntil(lambda: window.status.model_label.text().startswith("Model: "), timeout=5000)
    assert describe(qtbot, window) == "A white mug with a blue handle, said by Qwen."


def test_a_download_that_fails_leaves_the_model_in_use_working_and_says_why(
    qtbot: QtBot, window: MainWindow, held: HeldDownload, monkeypatch: pytest.MonkeyPatch
) -> None:
    choose_in_settings(window, monkeypatch, "qwen3.5-0.8b")
    qtbot.waitUntil(lambda: window.feedback.current_notice.startswith("Downloading Qwen3.5-0.8B"))
    held.fail_with = (
        "The model OpenVINO/Qwen3.5-0.8B-int4-ov could not be downloaded: this computer seems to be offline."
    )
    held.release.set()
    qtbot.waitUntil(lambda: "could not be downloaded" in window.panel.caption_status.text(), timeout=5000)
    assert "The model in use goes on working." in window.panel.caption_status.text()
    assert window.feedback.current_notice == "" and not window.status.progress.isVisible()
    assert describe(qtbot, window) == "A mug, said by the default model."


def test_choosing_again_while_downloading_keeps_only_the_last_choice(
    qtbot: QtBot, window: MainWindow, held: HeldDownload, monkeypatch: pytest.MonkeyPatch
) -> None:
    choose_in_settings(window, monkeypatch, "qwen3.5-0.8b")
    qtbot.waitUntil(lambda: window.feedback.current_notice.startswith("Downloading"))
    choose_in_settings(window, monkeypatch, "smolvlm2-500m")  # back to the model in use
    assert window.feedback.current_notice == "" and not window.status.progress.isVisible()
    held.release.set()
    # The called-off download ends; its news (queued before its thread ended) must change nothing.
    qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t.name == "smolsight-model-fetch"])
    QApplication.processEvents()
    assert held.asked == ["qwen3.5-0.8b"]  # nothing else was fetched, nothing reloaded
    assert window.session.model_is_ready and window.feedback.current_notice == ""
    assert describe(qtbot, window) == "A mug, said by the default model."
    assert load_settings(window.config_path).engine.model is None


def test_the_settings_offer_the_three_models_with_their_downloads(qtbot: QtBot) -> None:
    dialog = SettingsDialog(settings_of(), voices=[])
    qtbot.addWidget(dialog)
    labels = [dialog.model_choice.itemText(i) for i in range(dialog.model_choice.count())]
    assert labels[:3] == [
        "SmolVLM2-256M (fastest), about 280 MB",
        "SmolVLM2-500M (balanced, the default), about 520 MB",
        "Qwen3.5-0.8B (most accurate), about 0.9 GB",
    ]
    assert dialog.chosen_model() is None  # the default stays "no model named"
    dialog.model.setText("/models/my-smolvlm")
    assert dialog.model_choice.currentData() == OTHER_MODEL and dialog.chosen_model() == "/models/my-smolvlm"
    named = SettingsDialog(settings_of(model="HuggingFaceTB/SmolVLM2-256M-Video-Instruct"), voices=[])
    qtbot.addWidget(named)
    assert named.model_choice.currentData() == "smolvlm2-256m" and named.model.text() == ""


def accurate_window(
    qtbot: QtBot, tmp_path: Path, *, downloaded: bool
) -> tuple[MainWindow, dict[str | None, FakeBackend]]:
    engines = {
        None: FakeBackend(answer=lambda _r: "A mug, said by the default model."),
        "qwen3.5-0.8b": FakeBackend(answer=lambda _r: "A white mug with a blue handle, said by Qwen."),
    }
    w = new_window(
        qtbot,
        tmp_path,
        lambda s: engines[s.model],
        settings=settings_of(accurate_answers=True),
        model_downloaded=lambda s: downloaded and s.model == "qwen3.5-0.8b",
    )
    qtbot.waitUntil(lambda: w.status.model_label.text().startswith("Model: "), timeout=5000)
    qtbot.waitUntil(lambda: w.session.current_frame() is not None, timeout=5000)
    w.session.continuous = False
    return w, engines


def test_questions_and_detailed_descriptions_go_to_the_most_accurate_model(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window, engines = accurate_window(qtbot, tmp_path, downloaded=True)
    qtbot.waitUntil(
        lambda: "Questions and detailed descriptions: Qwen3.5-0.8B" in window.feedback.current_notice
    )
    assert describe(qtbot, window) == "A mug, said by the default model."  # a brief description: the fast one
    window.panel.question.setText("What colour is the handle?")
    window.ask_question()
    qtbot.waitUntil(lambda: window.panel.history_list.count() == 2, timeout=5000)
    assert "said by Qwen" in window.panel.history_list.item(1).text()
    window.prefs.set_verbosity("detailed")
    assert describe(qtbot, window) == "A white mug with a blue handle, said by Qwen."
    assert len(engines["qwen3.5-0.8b"].calls) == 2 and len(engines[None].calls) == 1
    window.prefs.update("describe", accurate_answers=False)  # off: everything on the model in use
    qtbot.waitUntil(lambda: window.feedback.current_notice == "", timeout=5000)
    assert describe(qtbot, window) == "A mug, said by the default model."
    window.close()
    assert window.session.accurate is None and not window.session.model_thread.running


def test_asking_for_the_most_accurate_model_before_it_is_downloaded_says_so(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window, engines = accurate_window(qtbot, tmp_path, downloaded=False)
    missing = "Qwen3.5-0.8B is not on this computer yet: questions use the model in use"
    qtbot.waitUntil(lambda: window.feedback.current_notice == missing, timeout=5000)
    window.panel.question.setText("What colour is the handle?")
    window.ask_question()
    qtbot.waitUntil(lambda: window.panel.history_list.count() == 1, timeout=5000)
    assert "said by the default model" in window.panel.history_list.item(0).text()
    assert not engines["qwen3.5-0.8b"].calls
    dialog = SettingsDialog(settings_of(), voices=[], accurate_downloaded=False)
    qtbot.addWidget(dialog)
    assert not dialog.accurate.isEnabled() and "not on this computer yet" in dialog.accurate.toolTip()
    assert "not on this computer yet" in dialog.accurate_note.text()  # said on screen too
    window.close()
