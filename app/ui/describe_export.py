"""Writing a summary's audio description from the app: off the GUI thread, with progress and cancel.

It needs no model, so it runs on a thread of its own (narration and the model thread carry on);
progress, the result and failures come back to the GUI thread as signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.background import BackgroundJob
from app.inference.types import CancelToken
from app.video.audio_description import (
    KINDS,
    AudioDescription,
    AudioDescriptionError,
    DescribeCancelled,
    write_audio_description,
)
from app.video.summarize import VideoSummary


class AudioDescriptionExport(QObject):
    """One audio description at a time: `start`, then `progress`, and `done`, `failed` or `cancelled`."""

    progress = Signal(float, str)
    done = Signal(object)  # AudioDescription
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job: BackgroundJob[AudioDescription | None] = BackgroundJob("audio-description")
        self._cancel = CancelToken()

    @property
    def running(self) -> bool:
        """Whether a description is being written."""
        return self._job.running

    def start(self, summary: VideoSummary, folder: Path, *, extended: bool, wpm: int) -> bool:
        """Write the descriptions track and the described video into `folder` (False: one is running)."""
        if self.running:
            return False
        self._cancel = CancelToken()
        cancel = self._cancel

        def work() -> AudioDescription | None:
            try:
                return write_audio_description(
                    summary,
                    folder,
                    KINDS,
                    extended=extended,
                    wpm=wpm,
                    progress=self.progress.emit,
                    cancel=cancel,
                )
            except DescribeCancelled:
                return None

        def explain(exc: Exception) -> str | None:
            if isinstance(exc, AudioDescriptionError):
                return str(exc)
            if isinstance(exc, OSError):
                return f"could not write to {folder}: {exc.strerror or exc}"
            return None

        def done(made: AudioDescription | None) -> None:
            if made is None:
                self.cancelled.emit()
            else:
                self.done.emit(made)

        return self._job.start(work, done=done, failed=self.failed.emit, explain=explain)

    def cancel(self) -> None:
        """Stop soon; nothing half-written is left behind."""
        self._cancel.cancel()

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait for the thread to end (True: it has)."""
        return self._job.wait(timeout)
