"""The history list on screen: shows the `History` model, copies, clears and exports it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QFileDialog, QListWidget, QListWidgetItem, QWidget

from app.narration.history import EXPORT_FORMATS, History, HistoryEntry
from app.ui.feedback import Feedback
from app.ui.ui_state import UiState


class HistoryView:
    """Keeps `list_widget` in step with `history` and runs the history's commands."""

    def __init__(
        self,
        history: History,
        list_widget: QListWidget,
        *,
        parent: QWidget,
        caption_text: Callable[[], str],
        feedback: Feedback,
        forget_scene: Callable[[], None],
        folders: UiState,
    ) -> None:
        self.history = history
        self.list = list_widget
        self.parent = parent
        self._caption_text = caption_text
        self.feedback = feedback
        self._forget_scene = forget_scene
        self.folders = folders

    def add(self, entry: HistoryEntry) -> None:
        """Show a new entry (when the history is kept) and scroll to it."""
        if self.history.add(entry):
            item = QListWidgetItem(entry.line())
            self.list.addItem(item)
            self.list.scrollToItem(item)

    def copy_selected(self) -> None:
        """Copy the selected entry (or the caption) to the clipboard."""
        item = self.list.currentItem()
        QApplication.clipboard().setText(item.text() if item is not None else self._caption_text())
        self.feedback.note("Copied.")

    def apply(self, keep: bool) -> None:
        """Keep a history from now on, or not (turning it off forgets what was kept)."""
        self.history.enabled = keep
        if not keep:
            self.clear()

    def clear(self) -> None:
        """Forget the history (the scene memory too)."""
        self.history.clear()
        self.list.clear()
        self._forget_scene()

    def export_dialog(self) -> None:
        """Ask for a file name (in the folder last used) and export."""
        if not self.history.entries:
            self.feedback.show_error("The history is empty: nothing to export.")
            return
        filters = ";;".join(f"{label} (*{suffix})" for suffix, label in EXPORT_FORMATS.items())
        start = str(Path(self.folders.folder("export")) / "smolsight-history.txt")
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export history", start, filters)
        if path:
            self.folders.remember("export", path)
            self.export(Path(path))

    def export(self, path: Path) -> bool:
        """Write the history to `path` (.txt, .md or .json); a clear message when it can't."""
        try:
            self.history.export(path)
        except (OSError, ValueError) as exc:
            self.feedback.show_error(f"Could not export: {exc}")
            return False
        self.feedback.note(f"History saved to {path.name}.")
        return True
