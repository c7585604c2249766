"""The model thread's events as Qt signals, for objects living on the GUI (or CLI) thread.

The model thread calls its listeners on its own thread. Emitting a signal of a QObject that lives
on the GUI thread from there queues the call, so slots run on the GUI thread, in order,
without locks. This is the only Qt piece of the model thread; `app/inference/` has none. Only
`LiveSession` listens to it: the window reaches the model thread through the session alone.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.inference.model_thread import (
    Answer,
    Dropped,
    JobFailed,
    JobStarted,
    ModelChanged,
    ModelEvent,
    ModelThread,
    Partial,
    TaskDone,
)


class ModelSignals(QObject):
    """One signal per model-thread event; create it on the thread whose slots should run."""

    model_changed = Signal(object)  # ModelState
    job_started = Signal(int)
    partial = Signal(int, str)  # job id, text so far
    finished = Signal(object)  # Answer
    task_finished = Signal(object)  # TaskDone
    failed = Signal(int, str)  # job id, message
    dropped = Signal(int)  # job id

    def __init__(self, model_thread: ModelThread) -> None:
        super().__init__()
        model_thread.add_listener(self._on_event)

    def _on_event(self, event: ModelEvent) -> None:
        """Re-emit a model-thread event (called on the model thread)."""
        if isinstance(event, ModelChanged):
            self.model_changed.emit(event.state)
        elif isinstance(event, JobStarted):
            self.job_started.emit(event.job_id)
        elif isinstance(event, Partial):
            self.partial.emit(event.job_id, event.text)
        elif isinstance(event, Answer):
            self.finished.emit(event)
        elif isinstance(event, TaskDone):
            self.task_finished.emit(event)
        elif isinstance(event, JobFailed):
            self.failed.emit(event.job_id, event.message)
        elif isinstance(event, Dropped):
            self.dropped.emit(event.job_id)
