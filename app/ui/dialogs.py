"""Small dialogs of the main window: the keyboard shortcuts list and About."""

from __future__ import annotations

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


def show_about(parent: QWidget) -> None:
    """Version and privacy note."""
    from app import __version__

    QMessageBox.about(
        parent,
        "About SmolSight",
        f"SmolSight {__version__}\nDescribes what the camera sees, on this computer only: "
        "no cloud, no account.\nModel: SmolVLM2. Descriptions can be wrong; double-check what matters.",
    )
