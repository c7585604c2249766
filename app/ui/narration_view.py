"""What the window shows and says for each event of the live session: caption, status, voice, history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QStatusBar

from app.capture.sources import CaptureEvent
from app.inference.types import BackendInfo, LoadProgress
from app.live.session import LiveSession, NarrationEvent
from app.narration.history import HistoryEntry, now_iso
from app.timecode import format_clock
from app.ui.announcer import Announcer
from app.ui.history_view import HistoryView
from app.ui.main_panel import MainPanel, ModelStatusBar


class NarrationView(QObject):
    """Turns session events into the caption, the status lines, announcements and history entries."""

    def __init__(
        self,
        session: LiveSession,
        panel: MainPanel,
        status: ModelStatusBar,
        status_bar: QStatusBar,
        *,
        announcer: Announcer,
        history: HistoryView,
        source_name: Callable[[], str],
    ) -> None:
        super().__init__()
        self.panel = panel
        self.status = status
        self.status_bar = status_bar
        self.announcer = announcer
        self.history = history
        self.source_name = source_name
        self.errors: list[str] = []  # every error shown, newest last
        session.narration.connect(self._on_narration)
        session.partial.connect(self._on_partial)
        session.capture_event.connect(self._on_capture_event)
        session.error.connect(self.show_error)
        session.model_ready.connect(self._on_model_ready)
        session.model_failed.connect(self._on_model_failed)
        session.busy_changed.connect(self._on_busy_changed)
        session.signals.loading.connect(self._on_loading)

    def note(self, text: str) -> None:
        """A short note under the caption."""
        self.panel.caption_status.setText(text)

    def show_error(self, message: str, *, announce: bool = True) -> None:
        """Show an error without blocking: status line, status bar and (urgent) voice."""
        self.errors.append(message)
        self.note(message)
        self.status_bar.showMessage(message, 15000)
        if announce:
            self.announcer.announce(message, urgent=True)

    @Slot(object)
    def _on_loading(self, progress: LoadProgress) -> None:
        self.status.loading(progress.message, progress.fraction)

    @Slot(object)
    def _on_model_ready(self, info: BackendInfo) -> None:
        self.status.done(f"Model: {Path(info.model).name} · {info.backend} · {info.device} · {info.dtype}")
        self.panel.caption.setText("Ready. Press Space to describe the picture.")
        if info.note:
            self.note(info.note)
        self.announcer.announce("SmolSight is ready.", urgent=False)

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        self.status.done("Model: not available")
        self.show_error(message)

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        self.panel.stop_button.setEnabled(busy)

    @Slot(str)
    def _on_partial(self, text: str) -> None:
        self.panel.caption.setText(text)

    @Slot(object)
    def _on_narration(self, event: NarrationEvent) -> None:
        d = event.description
        text = d.text or "(no answer)"
        self.panel.caption.setText(text)
        ttft = d.stats.time_to_first_token_s
        first = f"first word {ttft:.1f} s · " if ttft is not None else ""
        self.status.latency_label.setText(f"{first}total {d.total_s:.1f} s")
        if event.verdict.reason == "unchanged":
            self.note("Scene unchanged (not repeated).")
            return
        if event.verdict.reason == "empty":
            self.note("The model gave no answer.")
            return
        self.note(f"At {format_clock(event.source_time)} in {self.source_name()}")
        self.announcer.announce(text, urgent=event.ask.mode != "continuous")
        self.history.add(
            HistoryEntry(
                source_time=event.source_time,
                wall_time=now_iso(),
                mode=event.ask.mode,
                text=text,
                question=event.ask.question,
                source=self.source_name(),
            )
        )

    @Slot(object)
    def _on_capture_event(self, event: CaptureEvent) -> None:
        if event.is_error:
            self.panel.video.set_placeholder(event.message)
            self.show_error(event.message)
        elif event.kind == "started":
            self.note(f"{event.source} is on.")
