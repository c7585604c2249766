"""The engine's events as Qt signals, for objects living on the GUI (or CLI) thread.

The engine calls its listeners on the model thread. Emitting a signal of a QObject that lives
on the GUI thread from there queues the call, so slots run on the GUI thread, in order,
without locks. This is the only Qt piece of the engine; `app/inference/` has none. Only
`LiveSession` listens to it: the window reaches the engine through the session alone.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.inference.engine import (
    Answer,
    Dropped,
    Engine,
    EngineEvent,
    JobFailed,
    JobStarted,
    ModelChanged,
    Partial,
    TaskDone,
)


class EngineSignals(QObject):
    """One signal per engine event; create it on the thread whose slots should run."""

    model_changed = Signal(object)  # ModelState
    job_started = Signal(int)
    partial = Signal(int, str)  # job id, text so far
    finished = Signal(object)  # Answer
    task_finished = Signal(object)  # TaskDone
    failed = Signal(int, str)  # job id, message
    dropped = Signal(int)  # job id

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        engine.add_listener(self._on_event)

    def _on_event(self, event: EngineEvent) -> None:
        """Re-emit an engine event (called on the model thread)."""
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
