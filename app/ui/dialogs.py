"""Small dialogs of the main window: the keyboard shortcuts list and About."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.inference.types import BackendInfo
from app.ui.widgets import ScrollingColumn


def shortcuts_dialog(parent: QWidget, rows: list[tuple[str, str]]) -> QDialog:
    """A dialog listing every action and its keys (not yet shown)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QTableWidget(0, 2, dialog)
    table.setAccessibleName("Keyboard shortcuts")
    table.setHorizontalHeaderLabels(["Action", "Shortcut"])
    for action, keys in rows:
        r = table.rowCount()
        table.insertRow(r)
        table.setItem(r, 0, QTableWidgetItem(action))
        table.setItem(r, 1, QTableWidgetItem(keys))
    # Actions wrap onto more lines rather than being cut off; the keys keep their own width.
    table.setWordWrap(True)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(760, 800)  # the screen fit trims it on small screens; the table scrolls
    return dialog


def about_text(info: BackendInfo | None) -> str:
    """What About says: version, model, engine, licence, privacy."""
    from app import __version__

    if info is None:
        engine = "Model: not loaded yet."
    else:
        engine = f"Model: {Path(info.model).name}\nEngine: {info.backend} on {info.device} ({info.dtype})"
    return (
        f"SmolSight {__version__}\n\n"
        "Says what the camera or a video shows, on this computer only: no cloud, no account.\n\n"
        f"{engine}\n\n"
        "Descriptions come from a small AI model (SmolVLM2) and can be wrong: double-check what matters.\n\n"
        "Licence: Apache-2.0."
    )


def about_dialog(parent: QWidget, info: BackendInfo | None) -> QDialog:
    """The About dialog (not yet shown): its text scrolls when large text outgrows the screen."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("About SmolSight")
    text = about_text(info)
    dialog.setAccessibleDescription(text)  # read out as the dialog opens
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAccessibleName("About SmolSight")
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    icon = QLabel()
    icon.setPixmap(dialog.windowIcon().pixmap(64, 64))
    icon.setAccessibleName("SmolSight's icon")
    icon.setAlignment(Qt.AlignmentFlag.AlignTop)
    body = QWidget()
    row = QHBoxLayout(body)
    row.addWidget(icon)
    row.addWidget(label, 1)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(ScrollingColumn(body), 1)
    layout.addWidget(buttons)
    dialog.resize(640, 560)  # the screen fit trims it on small screens; the text scrolls
    return dialog


def choice_dialog(
    parent: QWidget, title: str, question: str, choices: dict[str, str], *, default: str
) -> QDialog:
    """A question with a button per choice and Cancel (not yet shown): its text wraps and scrolls.

    Qt's QMessageBox fixes its own size from its text and can't be fitted to a small screen;
    this dialog can. After `exec()`, the property "choice" holds the key chosen (None: cancelled).
    """
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setAccessibleDescription(question)
    dialog.setProperty("choice", None)
    label = QLabel(question)
    label.setWordWrap(True)
    buttons = QDialogButtonBox()
    for key, text in choices.items():
        button = buttons.addButton(text, QDialogButtonBox.ButtonRole.AcceptRole)
        button.setAccessibleName(text.replace("&", ""))
        button.clicked.connect(lambda _checked=False, key=key: dialog.setProperty("choice", key))
        if key == default:
            button.setDefault(True)
    buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(ScrollingColumn(label), 1)
    layout.addWidget(buttons)
    return dialog
