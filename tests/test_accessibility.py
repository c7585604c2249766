"""What a screen reader reads (QAccessible, as Orca reads it over AT-SPI), and layouts at the largest text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.config import Settings
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.summary_window import SummaryWindow
from tests.fakes import FakeBackend
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


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    monkeypatch.setattr(QDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    w = open_window(qtbot, tmp_path)
    w.session.continuous = False
    yield w
    w.close()


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
    summary = SummaryWindow(video, window.session.engine, window.session.signals, announce=lambda *_: None)
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
            count = w.history_list.count()
            qtbot.waitUntil(lambda c=count: w.history_list.count() == c + 1, timeout=5000)
        qtbot.wait(50)
        history = w.history_list
        lines = history.viewport().height() / history.fontMetrics().lineSpacing()
        assert lines >= 6, f"history shows {lines:.1f} lines"
        assert not history.horizontalScrollBar().isVisible()
        assert w.panel.caption_area.height() <= 0.35 * w.panel.height()  # the answer scrolls instead
        assert w.caption.text() == long_answer  # all of it, in the scrolling caption
    finally:
        w.close()


def test_settings_reach_every_text_size(qtbot: QtBot, tmp_path: Path) -> None:
    assert Settings(caption_font_pt=96).caption_font_pt == 96
