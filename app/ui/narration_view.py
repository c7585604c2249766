"""What the window shows and says for each event of the live session: caption, status, voice, history.

It also keeps the model's state as the user sees it (loading, ready, missing, failed), so
every message about it is true: the caption says what is happening, the model panel offers
the fix, and commands tried before the model is ready say exactly why they can't run yet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QObject, Signal, Slot

from app.capture.sources import CaptureEvent
from app.inference.engine import LoadFailed
from app.inference.types import BackendInfo, LoadProgress
from app.live.session import LiveSession, NarrationEvent
from app.live.speech import SpeechStatus
from app.narration.history import HistoryEntry, now_iso
from app.timecode import format_clock
from app.ui.announcer import Announcer
from app.ui.history_view import HistoryView
from app.ui.main_panel import MainPanel, ModelStatusBar

ModelState = Literal["loading", "ready", "missing", "failed"]


def as_sentence(text: str) -> str:
    """A message as a sentence: capital first letter, full stop (the command line's are one-liners)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


class NarrationView(QObject):
    """Turns session events into the caption, the status lines, announcements and history entries."""

    state_changed = Signal(str)  # ModelState

    def __init__(
        self,
        session: LiveSession,
        panel: MainPanel,
        status: ModelStatusBar,
        *,
        announcer: Announcer,
        history: HistoryView,
        source_name: Callable[[], str],
    ) -> None:
        super().__init__()
        self.panel = panel
        self.status = status
        self.announcer = announcer
        self.history = history
        self.source_name = source_name
        self.errors: list[str] = []  # every error shown, newest last
        self.state: ModelState = "loading"
        self.failure: LoadFailed | None = None
        self._progress: LoadProgress | None = None
        self._speech_message = ""  # what the status bar says about broken speech, while it is broken
        session.narration.connect(self._on_narration)
        session.partial.connect(self._on_partial)
        session.capture_event.connect(self._on_capture_event)
        session.error.connect(lambda message: self.show_error(message))
        session.model_ready.connect(self._on_model_ready)
        session.model_failed.connect(self._on_model_failed)
        session.busy_changed.connect(self._on_busy_changed)
        session.signals.loading.connect(self._on_loading)

    def note(self, text: str) -> None:
        """A short note under the caption."""
        self.panel.caption_status.setText(text)

    def show_error(self, message: str, *, announce: bool = True) -> None:
        """Show an error without blocking: the line under the caption and (urgent) voice."""
        message = as_sentence(message)
        self.errors.append(message)
        self.note(message)
        if announce:
            self.announcer.announce(message, urgent=True)

    def speech_notice(self, output: str) -> None:
        """Say in the status bar how descriptions are voiced, when a screen reader could take them."""
        if output == "speech" and Announcer.screen_reader_active():
            self.notice(
                "A screen reader is running: Settings → Output can send descriptions to it instead of "
                "SmolSight's own voice."
            )

    @Slot(object)
    def on_speech_status(self, status: SpeechStatus) -> None:
        """Our own voice stopped working, or works again: said once, on a channel that works."""
        if self.announcer.output != "speech":
            return
        if status.state == "unavailable":
            message = (
                f"Speech isn't working ({status.reason}); descriptions go to your screen reader and the "
                "caption."
            )
            self._speech_message = message
            self.notice(message)
            self.note(message)
            self.announcer.to_screen_reader(message, urgent=True)
        elif status.state == "ready" and self._speech_message:
            if self.status.notice.text() == self._speech_message:
                self.notice("")
            self._speech_message = ""
            self.note("Speech is working again.")
            self.announcer.announce("Speech is working again.", urgent=False)

    def notice(self, text: str) -> None:
        """A lasting note in the status bar (its own field: nothing is drawn over it)."""
        self.status.notice.setText(text)
        self.status.notice.setVisible(bool(text))  # when empty, the model's status takes the room

    def not_ready_message(self) -> str:
        """Why a command can't run yet, exactly, for the state the model is in."""
        if self.state == "missing":
            return "There is no model yet: choose Download the model, or Use a model folder."
        if self.state == "failed":
            reason = self.failure.message if self.failure else ""
            return f"The model could not be loaded. {reason} Show details, or try again.".replace("  ", " ")
        fraction = self._progress.fraction if self._progress else None
        done = f" ({fraction:.0%} done)" if fraction is not None else ""
        return f"The model is still loading{done}; SmolSight can describe as soon as it is ready."

    def _set_state(self, state: ModelState) -> None:
        self.state = state
        self.state_changed.emit(state)

    def loading(self, text: str = "Loading the model…") -> None:
        """A (re)load has started."""
        self._progress = None
        self.panel.model_panel.setVisible(False)
        self.panel.caption.setText(text)
        self.note("")  # a "no model yet" or "could not be loaded" from before is no longer true
        self.status.loading(text)
        self._set_state("loading")

    @Slot(object)
    def _on_loading(self, progress: LoadProgress) -> None:
        self._progress = progress
        self.status.loading(progress.message, progress.fraction)
        if progress.stage in ("download", "convert"):
            self.panel.caption.setText(progress.message)
        if self.state != "loading":
            self.panel.model_panel.setVisible(False)
            self._set_state("loading")

    @Slot(object)
    def _on_model_ready(self, info: BackendInfo) -> None:
        self.failure = None
        self.status.done(f"Model: {Path(info.model).name} · {info.backend} · {info.device} · {info.dtype}")
        self.panel.model_panel.setVisible(False)
        self.panel.caption.setText("Ready. Press Space to describe the picture.")
        if info.note:
            self.notice(info.note)
            self.note(info.note)
        self._set_state("ready")
        self.announcer.announce("SmolSight is ready.", urgent=False)

    @Slot(object)
    def _on_model_failed(self, failure: LoadFailed) -> None:
        self.failure = failure
        if failure.missing:
            self.status.done("Model: not on this computer yet")
            self.panel.caption.setText("The model is not on this computer yet.")
            self.panel.model_panel.show_missing(failure)
            self._set_state("missing")
        else:
            self.status.done("Model: could not be loaded")
            self.panel.caption.setText("The model could not be loaded.")
            self.panel.model_panel.show_failed(failure)
            self._set_state("failed")
        self.note("")
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
            self.note("Stopped.")
            return
        text = d.text or "(no answer)"
        self.panel.caption.setText(text)
        if d.stats.note:  # the engine says it once (a remote server's clips were cut down)
            self.notice(d.stats.note)
        ttft = d.stats.time_to_first_token_s
        first = f"first word {ttft:.1f} s · " if ttft is not None else ""
        self.status.latency_label.setText(f"{first}total {d.total_s:.1f} s")
        age = f"the picture is {event.age_s:.0f} s old" if event.age_s >= 1 else "the picture is current"
        if event.verdict.reason == "unchanged":
            self.note("Scene unchanged (not repeated).")
            return
        if event.verdict.reason == "empty":
            self.note("The model gave no answer.")
            return
        where = f"At {format_clock(event.source_time)} in {self.source_name()}"
        if event.ask.mode == "picture":
            self.note(f"Described {event.ask.subject}.")
        elif event.verdict.reason == "stale":
            self.note(
                f"{where}: the scene has changed since ({age}); "
                + ("said as past." if event.verdict.announce else "not spoken.")
            )
        else:
            self.note(f"{where} · {age}")
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
            self.show_error(event.message)
        elif event.kind == "started":
            self.note(f"{event.source} is on.")
