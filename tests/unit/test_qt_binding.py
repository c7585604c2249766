"""The Qt binding keeps Python's reference counts: a binding that doesn't crashes the app in time.

PySide6 6.12.0 returned None from every void call without taking a reference to it. On
Python 3.11, where None is an ordinary object, each call took one from None's count, and the
app died with "Fatal Python error: none_dealloc" once the count ran out: seen while quitting,
and in a few seconds of a busy event loop. Python 3.12 made None immortal, which hides it.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_void_calls_keep_nones_reference_count(qtbot: QtBot) -> None:
    label, other = QLabel(), QWidget()
    qtbot.addWidget(label)
    qtbot.addWidget(other)
    calls = (
        lambda: label.setText("a description"),
        lambda: QWidget.setTabOrder(label, other),
        lambda: QCoreApplication.processEvents(),
        lambda: QCoreApplication.sendPostedEvents(),
    )
    for call in calls:
        before = sys.getrefcount(None)
        for _ in range(200):
            call()
        assert sys.getrefcount(None) - before > -50, "the Qt binding drops references to None"
