"""What a screen reader reads (QAccessible, as Orca reads it over AT-SPI), and layouts at the largest text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMenuBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.summary_window import SummaryWindow
from tests.fakes import FakeBackend, settings_of
from tests.media import write_video
from tests.windows import open_window

INTERACTIVE = {
    QAccessible.Role.PushButton,
    QAccessible.Role.CheckBox,
    QAccessible.Role.ComboBox,
    QAccessible.Role.EditableText,
    QAccessible.Role.SpinBox,
    QAccessible.Role.Slider,
    QAccessible.Role.List,
    QAccessible.Role.Table,
    QAccessible.Role.RadioButton,
}
NEEDS_LABEL = (QLineEdit, QComboBox, QAbstractSpinBox, QAbstractSlider)


def audit(root: QWidget) -> tuple[list[str], list[str], int]:
    """(interactive widgets without a name, inputs without a label relation, interactive count)."""
    unnamed, unlabelled, count = [], [], 0
    for widget in [root, *root.findChildren(QWidget)]:
        iface = QAccessible.queryAccessibleInterface(widget)
        if iface is None or iface.role() not in INTERACTIVE:
            continue
        count += 1
        name = iface.text(QAccessible.Text.Name).strip()
        what = f"{type(widget).__name__}({widget.objectName() or widget.accessibleName()})"
        if not name:
            unnamed.append(what)
        inside_popup = isinstance(widget, QAbstractItemView) and isinstance(
            widget.parent().parent(), QComboBox
        )
        if isinstance(widget, NEEDS_LABEL) and not inside_popup and not _inside_spin(widget):
            if not iface.relations(QAccessible.RelationFlag.Label):
                unlabelled.append(what)
    return unnamed, unlabelled, count


def _inside_spin(widget: QWidget) -> bool:
    parent = widget.parent()
    return isinstance(parent, QAbstractSpinBox | QComboBox)


def test_the_main_window_reads_right(window: MainWindow) -> None:
    unnamed, unlabelled, count = audit(window)
    assert count >= 18
    assert unnamed == [], "interactive widgets without a name"
    assert unlabelled == [], "inputs a screen reader can't tie to their visible label"
    popups = [box.view() for box in window.findChildren(QComboBox)]
    assert popups and all(v.accessibleName().endswith("choices") for v in popups)


def test_the_settings_dialog_reads_right(window: MainWindow, qtbot: QtBot) -> None:
    dialog = SettingsDialog(window.settings, voices=["Anne"], parent=window)
    dialog.show()
    unnamed, unlabelled, count = audit(dialog)
    assert count >= 20 and unnamed == [] and unlabelled == []
    dialog.close()
    dialog.deleteLater()


def test_the_summary_window_reads_right(window: MainWindow, qtbot: QtBot, tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", [((200, 30, 30), 1.0)])
    summary = SummaryWindow(video, window.session, window.settings.summary, announcer=window.announcer)
    qtbot.addWidget(summary)
    summary.show()
    unnamed, unlabelled, count = audit(summary)
    assert count >= 8 and unnamed == [] and unlabelled == []
    rows = summary.scenes.viewport().height() / summary.scenes.fontMetrics().lineSpacing()
    assert rows >= 8, f"the scene list shows {rows:.1f} rows"
    summary.close()


def test_the_largest_text_and_a_300_word_answer_keep_six_history_lines(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    long_answer = " ".join(["The kitchen counter holds a red mug and a steel kettle."] * 30)  # 300 words
    backend = FakeBackend(answer=lambda _r: long_answer, seconds_per_call=0.05, tokens=4)
    w = open_window(qtbot, tmp_path, backend=backend, caption_font_pt=96)  # the largest the app offers
    w.session.continuous = False
    try:
        w.resize(1280, 800)
        for _ in range(3):
            w.describe_now()
            count = w.panel.history_list.count()
            qtbot.waitUntil(lambda c=count: w.panel.history_list.count() == c + 1, timeout=5000)
        qtbot.wait(50)
        history = w.panel.history_list
        lines = history.viewport().height() / history.fontMetrics().lineSpacing()
        assert lines >= 6, f"history shows {lines:.1f} lines"
        assert not history.horizontalScrollBar().isVisible()
        # The caption shows two whole lines (of 96 pt) and scrolls to the newest words.
        area, line = w.panel.caption_area, w.panel.caption.fontMetrics().lineSpacing()
        assert area.viewport().height() == 2 * line
        scroll = area.verticalScrollBar()
        assert scroll.value() == scroll.maximum() > 0 and scroll.maximum() % line == 0
        assert w.panel.caption.text() == long_answer  # all of it, in the scrolling caption
    finally:
        w.close()


def test_settings_reach_every_text_size(qtbot: QtBot, tmp_path: Path) -> None:
    assert settings_of(caption_font_pt=96).display.caption_font_pt == 96


def mnemonics(root: QWidget, also: list[QAbstractButton] | None = None) -> dict[str, list[str]]:
    """Alt+letter keys of the visible buttons, buddy labels and menu-bar titles (plus `also`)."""
    keys: dict[str, list[str]] = {}

    def add(text: str) -> None:
        match = re.search(r"&([^&\s])", text)
        if match:
            keys.setdefault(match.group(1).lower(), []).append(text)

    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or widget in (also or []):
            continue
        if isinstance(widget, QAbstractButton):
            add(widget.text())
        elif isinstance(widget, QLabel) and widget.buddy() is not None:
            add(widget.text())
        elif isinstance(widget, QMenuBar):
            for action in widget.actions():
                add(action.text())
    for button in also or []:
        add(button.text())
    return keys


def clashes(keys: dict[str, list[str]]) -> dict[str, list[str]]:
    return {key: texts for key, texts in keys.items() if len(texts) > 1}


def test_every_alt_key_of_the_main_window_does_one_thing(window: MainWindow) -> None:
    """Alt+H must open Help, not move to a button that shares its letter (Qt then only cycles focus)."""
    first_run = window.panel.model_panel.buttons()  # shown while there is no model
    assert clashes(mnemonics(window, also=first_run)) == {}
    menus = [window.menuBar(), *window.menuBar().findChildren(QMenu)]
    for menu in menus:
        keys: dict[str, list[str]] = {}
        for action in menu.actions():
            match = re.search(r"&([^&\s])", action.text())
            if match and not action.isSeparator():
                keys.setdefault(match.group(1).lower(), []).append(action.text())
        assert clashes(keys) == {}, menu.title()


def test_every_alt_key_of_the_settings_dialog_and_summary_window_does_one_thing(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = SettingsDialog(window.settings, voices=["Anne"], parent=window)
    assert clashes(mnemonics(dialog)) == {}
    video = write_video(tmp_path / "v.mp4", [((200, 30, 30), 1.0)])
    summary = SummaryWindow(video, window.session, window.settings.summary, announcer=window.announcer)
    qtbot.addWidget(summary)
    summary.show()
    assert clashes(mnemonics(summary)) == {}
    summary.close()


@pytest.mark.parametrize("caption_pt", [28, 96])
def test_the_window_fits_a_small_or_scaled_screen(qtbot: QtBot, tmp_path: Path, caption_pt: int) -> None:
    """1024 px wide is a small laptop, or a 2048 px screen at 200 % scaling: rows of controls wrap."""
    w = open_window(qtbot, tmp_path, backend=FakeBackend(), caption_font_pt=caption_pt)
    try:
        w.panel.model_panel.setVisible(True)  # the first-run buttons too
        w.resize(1024, 700)
        qtbot.wait(20)
        assert w.minimumSizeHint().width() <= 1024, w.minimumSizeHint()
        assert w.width() <= 1024
        p = w.panel
        right = p.describe_button.parentWidget()
        for button in (p.describe_button, p.happened_button, p.narrate_button, p.stop_button):
            assert right.rect().contains(button.geometry()), f"{button.text()} is cut off"
    finally:
        w.close()
