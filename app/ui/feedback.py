"""The window's short messages: the note under the caption, lasting notices, errors said aloud.

Every piece of the window that has something to tell the person (a note, an error, a notice
that stays) says it here, so each kind of message has one place on screen and one voice.
"""

from __future__ import annotations

from app.ui.announcer import Announcer
from app.ui.main_panel import MainPanel, ModelStatusBar


def as_sentence(text: str) -> str:
    """A message as a sentence: capital first letter, full stop (the command line's are one-liners)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


class Feedback:
    """Notes, notices and errors for one window."""

    def __init__(self, panel: MainPanel, status: ModelStatusBar, announcer: Announcer) -> None:
        self.panel = panel
        self.status = status
        self.announcer = announcer

    def note(self, text: str) -> None:
        """A short note under the caption (replaced by the next one)."""
        self.panel.caption_status.setText(text)

    def show_error(self, message: str, *, announce: bool = True) -> None:
        """Show an error without blocking: the line under the caption and (urgent) voice."""
        message = as_sentence(message)
        self.note(message)
        if announce:
            self.announcer.announce(message, urgent=True)

    def notice(self, text: str) -> None:
        """A lasting note in the status bar (its own field: nothing is drawn over it); '' removes it."""
        self.status.notice.setText(text)
        self.status.notice.setVisible(bool(text))  # when empty, the model's status takes the room

    @property
    def current_notice(self) -> str:
        """The status bar's lasting note now."""
        return self.status.notice.text()
