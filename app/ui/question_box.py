"""A small question box that comes up over any program: ask about the picture SmolSight saw last.

Opened by the system-wide key (Ctrl+Alt+Shift+A) while the person works elsewhere. It takes
focus, holds the previous question selected (Enter asks it again, typing replaces it), and
closes on Escape. The answer goes wherever descriptions go: the screen reader, our voice.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget


class QuestionBox(QDialog):
    """One line to type a question in; `asked` carries it (the previous one when left as it was)."""

    asked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Dialog | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("Ask SmolSight")
        self.setAccessibleName("Ask SmolSight")
        self.setAccessibleDescription("Ask about the picture SmolSight described last")
        self.previous = ""
        layout = QVBoxLayout(self)
        label = QLabel("&Question about the last picture:")
        label.setWordWrap(True)
        self.line = QLineEdit()
        self.line.setAccessibleName("Question about the last picture")
        self.line.setAccessibleDescription("Enter asks. Left as it is, the previous question is asked again.")
        self.line.setPlaceholderText("What does the sign say?")
        label.setBuddy(self.line)
        hint = QLabel("Enter asks; Escape closes. The answer goes where descriptions go.")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.ask_button = buttons.addButton("&Ask", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ask_button.setDefault(True)
        close = buttons.addButton("Close", QDialogButtonBox.ButtonRole.RejectRole)
        close.setAccessibleName("Close")
        buttons.accepted.connect(self._ask)
        buttons.rejected.connect(self.reject)
        for widget in (label, self.line, hint, buttons):
            layout.addWidget(widget)

    def open_over_everything(self) -> None:
        """Show it in front of whatever program is active, the previous question ready to ask again."""
        self.line.setText(self.previous)
        self.line.selectAll()
        self.show()
        self.raise_()
        self.activateWindow()
        self.line.setFocus()

    def _ask(self) -> None:
        question = self.line.text().strip() or self.previous
        if not question:
            self.line.setFocus()
            return
        self.previous = question
        self.accept()
        self.asked.emit(question)
