"""Where descriptions are voiced: our own speech, the user's screen reader, or nowhere.

Exactly one channel at a time, so the same text is never spoken twice. Routine narration is
polite; answers to the user's own requests and errors are urgent and interrupt. When our own
speech is unavailable (no engine, or one that stalled), what it would have said goes to the
screen reader instead, and the caption shows it as always: nothing goes silent.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

from app.config import Output, SpeechSettings
from app.speech.speaker import SpeechOutput


class ScreenReader(Protocol):
    """Whatever hands text to the person's screen reader (the accessibility layer, or a test's recorder)."""

    def announce(self, text: str, *, urgent: bool) -> None:
        """Have the screen reader say `text`: politely, or at once when urgent."""


class AccessibilityAnnouncements:
    """Announcements through Qt's accessibility layer: NVDA, JAWS, Narrator, VoiceOver, Orca."""

    def __init__(self, widget: QWidget) -> None:
        self.widget = widget

    def announce(self, text: str, *, urgent: bool) -> None:
        """Post an announcement event (polite, or assertive when urgent)."""
        event = QAccessibleAnnouncementEvent(self.widget, text)
        politeness = QAccessible.AnnouncementPoliteness
        event.setPoliteness(politeness.Assertive if urgent else politeness.Polite)
        QAccessible.updateAccessibility(event)


class Announcer:
    """Routes announcements to the chosen output channel."""

    def __init__(
        self,
        speaker: SpeechOutput | None,
        screen_reader: ScreenReader,
        output: Output,
    ) -> None:
        self.speaker = speaker
        self.screen_reader = screen_reader
        self.output: Output = output
        if speaker is not None:
            speaker.undelivered.connect(self._on_undelivered)

    def apply(self, settings: SpeechSettings) -> None:
        """Voice on the channel the user's speech settings name from now on."""
        self.output = settings.output

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
        elif self.output in ("speech", "screen_reader"):
            self.to_screen_reader(text, urgent=urgent)

    def to_screen_reader(self, text: str, *, urgent: bool = False) -> None:
        """Hand `text` to the screen reader (polite, or assertive when urgent)."""
        self.screen_reader.announce(text, urgent=urgent)

    def _on_undelivered(self, text: str) -> None:
        """Our speech could not say `text` (it stalled or is unavailable): the screen reader does."""
        if self.output == "speech":
            self.to_screen_reader(text, urgent=True)

    def stop(self) -> None:
        """Silence our own speech at once."""
        if self.speaker is not None:
            self.speaker.stop()
