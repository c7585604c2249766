"""Where descriptions are voiced: our own speech, the user's screen reader, or nowhere.

Exactly one channel at a time, so the same text is never spoken twice. Routine narration is
polite; answers to the user's own requests and errors are urgent and interrupt. When our own
speech is unavailable (no engine, or one that stalled), what it would have said goes to the
screen reader instead, and the caption shows it as always: nothing goes silent.
"""

from __future__ import annotations

from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

from app.config import Output
from app.live.speech import SpeechOutput


class Announcer:
    """Routes announcements to the chosen output channel."""

    def __init__(self, widget: QWidget, speaker: SpeechOutput | None, output: Output = "speech") -> None:
        self.widget = widget
        self.speaker = speaker
        self.output: Output = output
        self.sent: list[tuple[str, str, bool]] = []  # (channel, text, urgent), for tests and logs
        if speaker is not None:
            speaker.undelivered.connect(self._on_undelivered)

    @staticmethod
    def screen_reader_active() -> bool:
        """Whether an assistive technology is listening to this app."""
        return bool(QAccessible.isActive())

    def speech_works(self) -> bool:
        """Whether our own voice is in use and can speak now (or is about to)."""
        return (
            self.output == "speech"
            and self.speaker is not None
            and self.speaker.status.state in ("starting", "ready")
        )

    def announce(self, text: str, *, urgent: bool = False) -> None:
        """Voice `text` on the chosen channel (the screen reader when our speech can't)."""
        text = text.strip()
        if not text:
            return
        if self.speech_works():
            assert self.speaker is not None
            self.speaker.say(text, interrupt=urgent)
            self.sent.append(("speech", text, urgent))
        elif self.output in ("speech", "screen_reader"):
            self.to_screen_reader(text, urgent=urgent)

    def to_screen_reader(self, text: str, *, urgent: bool = False) -> None:
        """Hand `text` to the screen reader (polite, or assertive when urgent)."""
        event = QAccessibleAnnouncementEvent(self.widget, text)
        politeness = QAccessible.AnnouncementPoliteness
        event.setPoliteness(politeness.Assertive if urgent else politeness.Polite)
        QAccessible.updateAccessibility(event)
        self.sent.append(("screen_reader", text, urgent))

    def _on_undelivered(self, text: str) -> None:
        """Our speech could not say `text` (it stalled or is unavailable): the screen reader does."""
        if self.output == "speech":
            self.to_screen_reader(text, urgent=True)

    def stop(self) -> None:
        """Silence our own speech at once."""
        if self.speaker is not None:
            self.speaker.stop()
