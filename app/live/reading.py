"""Reading text for the live session, on its own thread: it needs no vision-language model.

The session hands `TextReading` a job (an id and a picture); the text reader runs on one
long-lived worker thread, and the text (or the reason there is none) comes back as a queued
signal on the session's thread. A newer automatic job replaces one not yet started (latest
wins, as for descriptions); a person's request is never replaced.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.reading.reader import ReaderError, TextReader, shared_reader, what_it_says

log = logging.getLogger(__name__)


class TextReading(QObject):
    """One reader thread for a session; `read` returns at once, `finished` says what was read."""

    finished = Signal(int, str, float)  # job id, the text (or NO_TEXT …), seconds spent reading
    failed = Signal(int, str)  # job id, why it could not read

    def __init__(self, reader: TextReader | None = None) -> None:
        super().__init__()
        self._reader = reader
        self._waiting: list[tuple[int, np.ndarray, bool]] = []  # id, picture, a person asked
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def read(self, job_id: int, picture: np.ndarray, *, user: bool) -> None:
        """Queue a reading; an automatic one replaces automatic ones still waiting."""
        with self._wake:
            if not user:
                self._waiting = [job for job in self._waiting if job[2]]
            self._waiting.append((job_id, picture, user))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="smolsight-reader", daemon=True)
                self._thread.start()
            self._wake.notify()

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop the thread after the reading in progress; False if it did not end in time."""
        with self._wake:
            self._stopped = True
            self._waiting.clear()
            self._wake.notify()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._waiting and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                job_id, picture, _user = self._waiting.pop(0)
            try:
                read = (self._reader or shared_reader()).read(picture)
                self.finished.emit(job_id, what_it_says(read, picture), read.seconds)
            except ReaderError as exc:
                self.failed.emit(job_id, str(exc))
            except Exception as exc:
                log.exception("reading failed")
                self.failed.emit(job_id, f"The text could not be read ({type(exc).__name__}).")
