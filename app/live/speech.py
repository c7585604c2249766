"""Spoken output through QTextToSpeech with a polite/interrupt policy.

Routine narration is polite: it waits for the current utterance, and a newer description
replaces one that has not been spoken yet (stale descriptions are dropped). Answers to the
user's own requests and errors interrupt whatever is being said.
"""

from __future__ import annotations

import logging
from typing import Any, TextIO

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)


class Speaker(QObject):
    """Speaks text with QTextToSpeech; `engine="mock"` is Qt's silent engine for tests."""

    spoken = Signal(str)  # text handed to the engine

    def __init__(self, *, engine: str | None = None, rate: float = 0.0, volume: float = 1.0) -> None:
        super().__init__()
        from PySide6.QtTextToSpeech import QTextToSpeech

        self._tts = QTextToSpeech(engine, self) if engine else QTextToSpeech(self)
        self._tts.setRate(max(-1.0, min(1.0, rate)))
        self._tts.setVolume(max(0.0, min(1.0, volume)))
        self._tts.stateChanged.connect(self._on_state_changed)
        self._pending: str | None = None
        self.muted = False
        self.history: list[str] = []  # everything handed to the engine, in order

    @property
    def available(self) -> bool:
        """Whether the engine can speak (not in its error state)."""
        from PySide6.QtTextToSpeech import QTextToSpeech

        return bool(self._tts.state() != QTextToSpeech.State.Error)

    def speaking(self) -> bool:
        """Whether an utterance is in progress."""
        from PySide6.QtTextToSpeech import QTextToSpeech

        return bool(self._tts.state() in (QTextToSpeech.State.Speaking, QTextToSpeech.State.Synthesizing))

    def set_rate(self, rate: float) -> None:
        """Speech rate from -1 (slow) to 1 (fast)."""
        self._tts.setRate(max(-1.0, min(1.0, rate)))

    def voice_names(self) -> list[str]:
        """Names of the voices the engine offers for the current language."""
        return [v.name() for v in self._tts.availableVoices()]

    def set_voice(self, name: str) -> bool:
        """Use the voice called `name`; False if there is none."""
        for voice in self._tts.availableVoices():
            if voice.name() == name:
                self._tts.setVoice(voice)
                return True
        return False

    def set_volume(self, volume: float) -> None:
        """Volume from 0 to 1."""
        self._tts.setVolume(max(0.0, min(1.0, volume)))

    def say(self, text: str, *, interrupt: bool = False) -> None:
        """Speak `text`: now (interrupt) or after the current utterance (polite)."""
        text = text.strip()
        if not text or self.muted:
            return
        if interrupt:
            self._pending = None
            self._tts.stop()
            self._speak(text)
        elif self.speaking():
            self._pending = text  # replaces an older description not yet spoken
        else:
            self._speak(text)

    def stop(self) -> None:
        """Stop speaking at once and forget what was waiting."""
        self._pending = None
        self._tts.stop()

    def _speak(self, text: str) -> None:
        self.history.append(text)
        self._tts.say(text)
        self.spoken.emit(text)

    @property
    def pending(self) -> str | None:
        """The description waiting for the current utterance to end."""
        return self._pending

    @Slot(object)
    def _on_state_changed(self, state: Any) -> None:
        from PySide6.QtTextToSpeech import QTextToSpeech

        if state == QTextToSpeech.State.Ready and self._pending:
            text, self._pending = self._pending, None
            self._speak(text)


def make_speaker(*, err: TextIO | None = None, engine: str | None = None) -> Speaker | None:
    """A speaker, or None when this system has no speech engine.

    `err`: where to say so (the terminal narrator, which then prints only); the desktop app
    passes none and shows its own notice. The reason always goes to the log.
    """
    try:
        speaker = Speaker(engine=engine)
        reason = "" if speaker.available else "the speech engine reported an error"
    except Exception as exc:  # missing plugin or library (e.g. libpulse on Linux)
        speaker, reason = None, str(exc)
    if speaker is not None and not reason:
        return speaker
    log.info("speech is not available here: %s", reason)
    if err is not None:
        print(
            f"smolsight: speech is not available here ({reason}); printing the descriptions only.", file=err
        )
    return None
