"""Writing a summary's audio description from the app: off the GUI thread, with progress and cancel.

It needs no model, so it runs on a thread of its own (narration and the model thread carry on);
progress, the result and failures come back to the GUI thread as signals.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.inference.types import CancelToken
from app.video.audio_description import (
    KINDS,
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
        self._thread: threading.Thread | None = None
        self._cancel = CancelToken()

    @property
    def running(self) -> bool:
        """Whether a description is being written."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, summary: VideoSummary, folder: Path, *, extended: bool, wpm: int) -> bool:
        """Write the descriptions track and the described video into `folder` (False: one is running)."""
        if self.running:
            return False
        self._cancel = CancelToken()
        cancel = self._cancel

        def work() -> None:
            try:
                made = write_audio_description(
                    summary,
                    folder,
                    KINDS,
                    extended=extended,
                    wpm=wpm,
                    progress=self.progress.emit,
                    cancel=cancel,
                )
            except DescribeCancelled:
                self.cancelled.emit()
            except AudioDescriptionError as exc:
                self.failed.emit(str(exc))
            except OSError as exc:
                self.failed.emit(f"could not write to {folder}: {exc.strerror or exc}")
            except Exception as exc:  # the window must hear of any failure, not wait forever
                self.failed.emit(f"{type(exc).__name__}: {exc}")
            else:
                self.done.emit(made)

        self._thread = threading.Thread(target=work, name="audio-description", daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Stop soon; nothing half-written is left behind."""
        self._cancel.cancel()

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait for the thread to end (True: it has)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running
