"""Where descriptions are voiced: our own speech, the user's screen reader, or nowhere.

Exactly one channel at a time, so the same text is never spoken twice. Routine narration is
polite; answers to the user's own requests and errors are urgent and interrupt.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

from app.live.speech import Speaker

Output = Literal["speech", "screen_reader", "text"]


class Announcer:
    """Routes announcements to the chosen output channel."""

    def __init__(self, widget: QWidget, speaker: Speaker | None, output: Output = "speech") -> None:
        self.widget = widget
        self.speaker = speaker
        self.output: Output = output
        self.sent: list[tuple[str, str, bool]] = []  # (channel, text, urgent), for tests and logs

    @staticmethod
    def screen_reader_active() -> bool:
        """Whether an assistive technology is listening to this app."""
        return bool(QAccessible.isActive())

    def announce(self, text: str, *, urgent: bool = False) -> None:
        """Voice `text` on the chosen channel."""
        text = text.strip()
        if not text:
            return
        if self.output == "speech" and self.speaker is not None:
            self.speaker.say(text, interrupt=urgent)
            self.sent.append(("speech", text, urgent))
        elif self.output == "screen_reader":
            event = QAccessibleAnnouncementEvent(self.widget, text)
            politeness = QAccessible.AnnouncementPoliteness
            event.setPoliteness(politeness.Assertive if urgent else politeness.Polite)
            QAccessible.updateAccessibility(event)
            self.sent.append(("screen_reader", text, urgent))

    def stop(self) -> None:
        """Silence our own speech at once."""
        if self.speaker is not None:
            self.speaker.stop()
