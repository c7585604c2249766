"""Small dialogs of the main window: the keyboard shortcuts list and About."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.inference.types import BackendInfo


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
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(560, 640)
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


def show_about(parent: QWidget, info: BackendInfo | None) -> None:
    """The About dialog, with the app's icon."""
    QMessageBox.about(parent, "About SmolSight", about_text(info))
