"""Where descriptions are voiced: the user's screen reader, our own speech, both, or nowhere.

The user chooses ("auto": the screen reader when one runs, else our voice); the same text is
never spoken twice unless they chose both. The screen reader is reached through its own
channel, in the background too (`app/speech/screen_reader_link.py`), and through Qt's
announcement event while this window has focus when it offers none. Routine narration is
polite; answers to the user's own requests and errors are urgent and interrupt. What one
output can't say (a speech engine that stalled, a screen reader that stopped answering), the
other says, and the caption shows it as always: nothing goes silent.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

from app.config import Output, SpeechSettings
from app.speech.screen_reader_link import ScreenReaderLink
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
    """Routes announcements to the output the user chose: their screen reader, our voice, both, or none.

    The screen reader is reached through its own channel (`ScreenReaderLink`) when one runs, in
    the background too; Qt's announcement event (heard only while this window has focus) is
    the way in when no channel answers. "auto" is the screen reader when one runs, else our
    voice. What one output could not say, the other says, so nothing goes unheard.
    """

    def __init__(
        self,
        speaker: SpeechOutput | None,
        screen_reader: ScreenReader,
        output: Output,
        link: ScreenReaderLink | None = None,
    ) -> None:
        self.speaker = speaker
        self.screen_reader = screen_reader
        self.link = link
        self.output: Output = output
        if speaker is not None:
            speaker.undelivered.connect(self._on_undelivered)
        if link is not None:
            link.undelivered.connect(self._on_screen_reader_undelivered)

    def apply(self, settings: SpeechSettings) -> None:
        """Voice on the channel the user's speech settings name from now on."""
        self.output = settings.output

    @staticmethod
    def screen_reader_active() -> bool:
        """Whether an assistive technology is listening to this app."""
        return bool(QAccessible.isActive())

    @property
    def screen_reader_name(self) -> str:
        """The screen reader reached through its own channel now ("" when none answers)."""
        return self.link.name if self.link is not None else ""

    def wants_screen_reader(self) -> bool:
        """Whether the screen reader is to say things, as the output choice stands now."""
        found = bool(self.screen_reader_name)
        return self.output in ("screen_reader", "both") or (self.output == "auto" and found)

    def wants_voice(self) -> bool:
        """Whether our own voice is to say things, as the output choice stands now."""
        return self.output in ("speech", "both") or (self.output == "auto" and not self.screen_reader_name)

    def _voice_ready(self) -> bool:
        return self.speaker is not None and self.speaker.status.state in ("starting", "ready")

    def announce(self, text: str, *, urgent: bool = False) -> None:
        """Voice `text` on the chosen outputs (the other one when the chosen one can't)."""
        text = text.strip()
        if not text:
            return
        to_reader = self.wants_screen_reader()
        if to_reader:
            self.to_screen_reader(text, urgent=urgent)
        if self.wants_voice():
            if self._voice_ready():
                assert self.speaker is not None
                self.speaker.say(text, interrupt=urgent)
            elif not to_reader:
                self.to_screen_reader(text, urgent=urgent)

    def to_screen_reader(self, text: str, *, urgent: bool = False) -> None:
        """Hand `text` to the screen reader: its own channel, else Qt's event (focused window only)."""
        if self.link is not None and self.link.available:
            self.link.send(text, interrupt=urgent)
        else:
            self.screen_reader.announce(text, urgent=urgent)

    def say_with_voice(self, text: str, *, urgent: bool = True) -> None:
        """Our own voice, whatever the choice (a lost screen reader's words); Qt's event if it can't."""
        if self.output == "text":
            return
        if self._voice_ready():
            assert self.speaker is not None
            self.speaker.say(text, interrupt=urgent)
        else:
            self.screen_reader.announce(text, urgent=urgent)

    def _on_undelivered(self, text: str) -> None:
        """Our speech could not say `text` (it stalled or is unavailable): the screen reader does."""
        if self.wants_voice() and not self.wants_screen_reader():
            self.to_screen_reader(text, urgent=True)

    def _on_screen_reader_undelivered(self, text: str) -> None:
        """The screen reader did not take `text`: our voice says it, unless it said it already."""
        if self.output in ("screen_reader", "auto"):
            self.say_with_voice(text)

    def stop(self, *, screen_reader: bool = False) -> None:
        """Silence our own speech at once; and the screen reader's too (where its channel allows)."""
        if self.speaker is not None:
            self.speaker.stop()
        if screen_reader and self.link is not None and self.wants_screen_reader():
            self.link.cancel()
