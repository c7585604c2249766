"""Usable at the scaling low-vision users run: all text grows, captions show whole lines, windows fit.

In-process, on Qt's offscreen platform. The same on a real X server with a window manager at
200 % and at 1024×768 is in tests/e2e/test_real_window.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSize, QTimer
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from app.ui.fit import TYPICAL_FRAME, ScreenFit, frame_margins, room_for
from app.ui.settings_dialog import SettingsDialog
from app.ui.theme import TextSizes
from app.ui.ui_state import UiState
from tests.fakes import FakeBackend
from tests.windows import open_window

LONG = " ".join(["A man in a red coat crosses the street while a tram waits at the lights."] * 6)


def test_the_text_size_sizes_every_text_not_only_the_caption(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, caption_font_pt=28)
    window.session.continuous = False
    panel = window.panel

    def sizes() -> dict[str, float]:
        return {
            "caption": panel.caption.font().pointSizeF(),
            "button": panel.describe_button.font().pointSizeF(),
            "field": panel.question.font().pointSizeF(),
            "menu": window.menuBar().font().pointSizeF(),
            "status": window.status.model_label.font().pointSizeF(),
            "history": panel.history_list.font().pointSizeF(),
            "dialog": SettingsDialog(window.settings, voices=[]).font().pointSizeF(),
        }

    before = sizes()
    assert before["caption"] > before["history"] >= before["button"] == before["menu"] == before["dialog"]
    for _ in range(10):
        window.prefs.change_font(+8)  # Ctrl++ ten times: to the largest size
    after = sizes()
    assert window.settings.display.caption_font_pt == 96
    assert all(after[key] > before[key] for key in before), (before, after)
    assert after == {
        "caption": 96,
        "button": 28,
        "field": 28,
        "menu": 28,
        "status": 28,
        "history": 32,
        "dialog": 28,
    }
    window.close()


def test_the_desktops_own_font_size_is_the_floor() -> None:
    assert TextSizes.for_caption(10).ui == 11
    assert TextSizes.for_caption(10, system_pt=16).ui == 16  # a desktop set to large fonts wins
    assert TextSizes.for_caption(96, system_pt=16).ui == 28


@pytest.mark.parametrize("caption_pt", [28, 52, 72, 96])
@pytest.mark.parametrize("height", [480, 800])
def test_the_caption_shows_whole_lines_and_its_newest_words(
    qtbot: QtBot, tmp_path: Path, caption_pt: int, height: int
) -> None:
    window = open_window(
        qtbot, tmp_path, backend=FakeBackend(answer=lambda _r: LONG), caption_font_pt=caption_pt
    )
    window.session.continuous = False
    window.resize(900, height)
    window.describe_now()
    qtbot.waitUntil(lambda: window.panel.caption.text() == LONG, timeout=5000)
    qtbot.wait(50)
    panel = window.panel
    line = panel.caption.fontMetrics().lineSpacing()
    lines = panel.caption_lines()
    visible = panel.caption_area.viewport().height()
    assert visible == lines * line  # whole lines: none cut in half
    assert lines >= 2 or 2 * line > 0.7 * panel.height()  # two at least, unless they can't fit
    scroll = panel.caption_area.verticalScrollBar()
    assert scroll.value() == scroll.maximum() > 0  # the newest words are in view
    assert scroll.maximum() % line == 0  # ...and the first line in view is a whole one
    assert panel.caption.text() == LONG  # screen readers and copying get all of it
    window.close()


def test_a_word_longer_than_the_line_breaks_instead_of_being_cut(qtbot: QtBot, tmp_path: Path) -> None:
    word = "Supercalifragilisticexpialidocious"
    window = open_window(qtbot, tmp_path, backend=FakeBackend(answer=lambda _r: word), caption_font_pt=96)
    window.session.continuous = False
    window.describe_now()
    qtbot.waitUntil(lambda: window.panel.caption.text() == word, timeout=5000)
    caption = window.panel.caption
    assert caption.fontMetrics().horizontalAdvance(word) > caption.contentsRect().width()
    assert caption.heightForWidth(caption.width()) > 2 * caption.fontMetrics().lineSpacing()  # it wraps
    window.close()


def test_the_dropped_video_question_fits_the_screen_at_large_text(qtbot: QtBot, tmp_path: Path) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    fit = ScreenFit(app)
    window = open_window(qtbot, tmp_path, caption_font_pt=96)
    name = "a-very-long-video-file-name-" * 6 + ".mp4"
    QTimer.singleShot(0, lambda: window.summaries.drop_dialog.findChildren(QPushButton)[1].click())
    assert window.choose_drop_action(Path(name)) == "summarize"
    dialog = window.summaries.drop_dialog
    room = room_for(dialog, TYPICAL_FRAME)
    assert dialog.width() <= room.width() and dialog.height() <= room.height()
    app.removeEventFilter(fit)
    window.close()


def test_a_window_size_is_remembered_only_while_it_fits(qtbot: QtBot, tmp_path: Path) -> None:
    state = UiState(tmp_path / "settings.json")
    state.remember_size("main", 720, 560)
    window = open_window(qtbot, tmp_path)
    assert window.size() == QSize(720, 560)  # as it was closed
    window.resize(760, 580)
    window.close()
    assert UiState(tmp_path / "settings.json").size("main") == (760, 580)

    UiState(tmp_path / "settings.json").remember_size("main", 5000, 3000)  # a bigger screen, once
    again = open_window(qtbot, tmp_path)
    room = room_for(again, frame_margins(again) or TYPICAL_FRAME)
    assert again.width() <= room.width() and again.height() <= room.height()
    again.close()
