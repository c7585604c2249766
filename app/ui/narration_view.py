"""What the window shows and says for each event of the live session: caption, status, voice, history.

It follows the model's state as the session reports it (loading, ready, missing, failed), so
every message about it is true: the caption says what is happening, the model panel offers
the fix, and commands tried before the model is ready say exactly why they can't run yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.capture.sources import CaptureEvent
from app.inference.model_thread import ModelState
from app.live.session import LiveSession, NarrationEvent
from app.narration.history import HistoryEntry
from app.prompts import PRESETS, Preset
from app.speech.speaker import SpeechStatus
from app.timecode import format_clock, now_iso
from app.ui.announcer import Announcer
from app.ui.feedback import Feedback
from app.ui.history_view import HistoryView
from app.ui.main_panel import MainPanel, ModelStatusBar

log = logging.getLogger(__name__)

# What the window offers for a model that isn't ready, after the reason (its buttons).
FIXES = {
    "missing": "Choose Download the model, or Use a model folder.",
    "failed": "Show details, or try again.",
}


class NarrationView(QObject):
    """Turns session events into the caption, the status lines, announcements and history entries."""

    state_changed = Signal(object)  # ModelState

    def __init__(
        self,
        session: LiveSession,
        panel: MainPanel,
        status: ModelStatusBar,
        *,
        feedback: Feedback,
        announcer: Announcer,
        history: HistoryView,
        source_name: Callable[[], str],
    ) -> None:
        super().__init__()
        self.session = session
        self.panel = panel
        self.status = status
        self.feedback = feedback
        self.announcer = announcer
        self.history = history
        self.source_name = source_name
        self.state = session.model_state
        self._narrating_screen = False
        self._speech_message = ""  # what the status bar says about broken speech, while it is broken
        self._screen_reader_message = ""  # what the status bar says about a lost screen reader
        session.narration.connect(self._on_narration)
        session.partial.connect(self._on_partial)
        session.capture_event.connect(self._on_capture_event)
        session.error.connect(lambda message: self.feedback.show_error(message))
        session.model_changed.connect(self._on_model_changed)
        session.busy_changed.connect(self._on_busy_changed)
        status.loading("Loading the model…")

    def speech_notice(self, output: str) -> None:
        """Say in the status bar how descriptions are voiced, when a screen reader could take them."""
        if output == "speech" and Announcer.screen_reader_active():
            self.feedback.notice(
                "A screen reader is running: Settings → Speak with can send descriptions to it instead "
                "of SmolSight's own voice."
            )

    @Slot(str, str)
    def on_screen_reader_lost(self, name: str, why: str) -> None:
        """The screen reader stopped, or stopped answering: said once, and our voice takes over."""
        output = self.announcer.output
        if output in ("speech", "text"):
            self.feedback.note(f"{name} is no longer running.")
            return
        takes_over = "" if output == "both" else ": SmolSight's voice speaks instead"
        message = f"{name} stopped answering ({why}){takes_over}."
        self._screen_reader_message = message
        self.feedback.notice(message)
        self.feedback.note(message)
        if output != "both":
            self.announcer.say_with_voice(message)

    @Slot(str)
    def on_screen_reader_found(self, name: str) -> None:
        """A screen reader answers (again): descriptions go to it; said once, through it."""
        if not name:
            return
        if self._screen_reader_message:
            if self.feedback.current_notice == self._screen_reader_message:
                self.feedback.notice("")
            self._screen_reader_message = ""
            if self.announcer.wants_screen_reader():
                self.announcer.announce(f"{name} answers again: descriptions go to it.", urgent=False)
        if self.announcer.wants_screen_reader():
            self.feedback.note(f"Descriptions go to {name}, in speech and braille.")

    @Slot(object)
    def on_speech_status(self, status: SpeechStatus) -> None:
        """Our own voice stopped working, or works again: said once, on a channel that works."""
        if not self.announcer.wants_voice():
            return
        if status.state == "unavailable":
            message = (
                f"Speech isn't working ({status.reason}); descriptions go to your screen reader and the "
                "caption."
            )
            self._speech_message = message
            self.feedback.notice(message)
            self.feedback.note(message)
            self.announcer.to_screen_reader(message, urgent=True)
        elif status.state == "ready" and self._speech_message:
            if self.feedback.current_notice == self._speech_message:
                self.feedback.notice("")
            self._speech_message = ""
            self.feedback.note("Speech is working again.")
            self.announcer.announce("Speech is working again.", urgent=False)

    def not_ready_message(self) -> str:
        """Why a command can't run yet, exactly, for the state the model is in, and the window's fix."""
        fix = FIXES.get(self.state.status, "")
        return f"{self.state.not_ready_reason()} {fix}".strip()

    def require_ready(self) -> bool:
        """Whether the model can answer now; if not, say why (the caption's how-to stays as it is)."""
        if self.state.ready:
            return True
        self.feedback.show_error(self.not_ready_message())
        return False

    @Slot(object)
    def _on_model_changed(self, state: ModelState) -> None:
        previous, self.state = self.state, state
        if state.status == "loading":
            self._show_loading(state, began=previous.status != "loading")
        elif state.status == "ready" and state.info is not None and previous.status != "ready":
            self._show_ready(state)
        elif state.failure is not None and state != previous:
            self._show_failure(state)
        self.state_changed.emit(state)

    def _show_loading(self, state: ModelState, *, began: bool) -> None:
        progress = state.progress
        text = progress.message if progress is not None else "Loading the model…"
        self.status.loading(text, progress.fraction if progress is not None else None)
        if began:  # a (re)load: what was said about the model before is no longer true
            self.panel.model_panel.setVisible(False)
            self.panel.caption.setText(text)
            self.feedback.note("")
        elif progress is not None and progress.stage in ("download", "convert"):
            self.panel.caption.setText(text)

    def _show_ready(self, state: ModelState) -> None:
        info = state.info
        assert info is not None
        self.status.done(f"Model: {Path(info.model).name} · {info.backend} · {info.device} · {info.dtype}")
        self.panel.model_panel.setVisible(False)
        self.panel.caption.setText("Ready. Press Space to describe the picture.")
        if info.note:
            self.feedback.notice(info.note)
            self.feedback.note(info.note)
        self.announcer.announce("SmolSight is ready.", urgent=False)

    def _show_failure(self, state: ModelState) -> None:
        failure = state.failure
        assert failure is not None
        if state.status == "missing":
            self.status.done("Model: not on this computer yet")
            self.panel.caption.setText("The model is not on this computer yet.")
            self.panel.model_panel.show_missing(failure)
        else:
            self.status.done("Model: could not be loaded")
            self.panel.caption.setText("The model could not be loaded.")
            self.panel.model_panel.show_failed(failure)
        self.feedback.note("")
        self.announcer.announce(f"{self.panel.caption.text()} {failure.message}", urgent=True)

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        self.panel.stop_button.setEnabled(busy)

    @Slot(str)
    def _on_partial(self, text: str) -> None:
        self.panel.caption.setText(text)

    @Slot(object)
    def _on_narration(self, event: NarrationEvent) -> None:
        d = event.description
        if event.verdict.reason == "stopped":  # said when the user stopped it (MainWindow.cancel_answer)
            self.panel.caption.setText(f"{d.text} … (stopped)" if d.text else "Stopped.")
            self.feedback.note("Stopped.")
            return
        text = d.text or "(no answer)"
        self.panel.caption.setText(text)
        if d.stats.note:  # the engine says it once (a remote server's clips were cut down)
            self.feedback.notice(d.stats.note)
        ttft = d.stats.time_to_first_token_s
        first = f"first word {ttft:.1f} s · " if ttft is not None else ""
        self.status.latency_label.setText(f"{first}total {d.total_s:.1f} s")
        age = f"the picture is {event.age_s:.0f} s old" if event.age_s >= 1 else "the picture is current"
        if event.verdict.reason == "unchanged":
            self.feedback.note("Scene unchanged (not repeated).")
            return
        if event.verdict.reason == "empty":
            self.feedback.note("No text in view yet." if event.ask.read else "The model gave no answer.")
            return
        where = f"At {format_clock(event.source_time)} in {self.source_name()}"
        if event.ask.mode == "picture":
            log.info("described %s", event.ask.subject)  # what, never the words: they may be private
            self.feedback.note(f"Described {event.ask.subject}.")
        elif event.verdict.reason == "stale":
            self.feedback.note(
                f"{where}: the scene has changed since ({age}); "
                + ("said as past." if event.verdict.announce else "not spoken.")
            )
        else:
            self.feedback.note(f"{where} · {age}")
        if event.verdict.announce:
            self.announcer.announce(event.spoken, urgent=event.ask.mode != "continuous")
        self.history.add(
            HistoryEntry(
                source_time=event.source_time,
                wall_time=now_iso(),
                mode=event.ask.mode,
                text=text,
                question=event.ask.question,
                source=event.ask.subject or self.source_name(),
            )
        )

    @Slot(object)
    def _on_capture_event(self, event: CaptureEvent) -> None:
        if event.is_error:
            self.panel.video.set_placeholder(event.message)
            self.feedback.show_error(event.message)
        elif event.kind == "started":
            self.feedback.note(f"{event.source} is on.")

    def show_narration_state(self) -> None:
        """The narration button says whether narration is on, off, or waiting for the model."""
        on = self.session.continuous
        waiting = on and not self.state.ready
        button = self.panel.narrate_button
        button.setChecked(on)
        button.setText(
            "Na&rration: waiting for the model" if waiting else "Na&rration: on" if on else "Na&rration: off"
        )

    def look_for(self) -> None:
        """What descriptions look for: the preset chosen, and the thing to find."""
        chosen = self.panel.preset_box.currentData()
        preset: Preset = chosen if chosen in PRESETS else "scene"
        self.panel.target.setEnabled(preset == "find")
        self.session.look_for(preset, self.panel.target.text())

    def say_screen_narration(self, on: bool, set_title: Callable[[str], None]) -> None:
        """While the screen is narrated, the title and status say so; the screen reader hears it once."""
        if on == self._narrating_screen:
            return
        self._narrating_screen = on
        set_title("Narrating your screen" if on else "SmolSight")  # Qt adds " — SmolSight"
        if on:
            self.feedback.notice("Narrating your screen. The pictures stay on this computer.")
            self.announcer.announce("Narrating your screen. Nothing leaves this computer.", urgent=True)
        else:
            self.feedback.notice("")
            self.announcer.announce("Stopped narrating the screen.", urgent=True)
