"""The one long-lived thread that owns the model: load, warm up, then one request at a time.

`InferenceEngine` lives on the GUI (or CLI) thread and owns a `QThread`; the
`InferenceWorker` moved onto it creates the backend *inside* that thread, so MLX's
thread-bound streams and every generation stay on one thread for the model's life.

Requests wait in a one-slot mailbox: a newer request replaces an unread one (latest wins),
except that a user's own request is never replaced by automatic narration, and it
interrupts automatic narration that is running. Cancellation is cooperative (checked once
per token); shutdown is stop → quit → bounded wait, and says so loudly if the wait runs out.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.inference.base import BackendError, VisionBackend
from app.inference.types import CancelToken, GenerationRequest

log = logging.getLogger(__name__)
Priority = Literal["auto", "user"]


@dataclass(frozen=True)
class Job:
    """A request waiting for the model, with who asked and when."""

    id: int
    request: GenerationRequest
    mode: str
    priority: Priority
    submitted_at: float
    tag: Any = None  # the caller's own context (e.g. the narrator's Ask)
    # A longer piece of work (a video summary) run with the model on the model thread.
    task: Callable[[VisionBackend, CancelToken], Any] | None = None


@dataclass(frozen=True)
class Timings:
    """Where the time of one description went, in seconds."""

    queue_wait_s: float
    preprocess_s: float
    time_to_first_token_s: float | None
    tokens_per_s: float | None
    total_s: float
    prompt_tokens: int
    generated_tokens: int


@dataclass(frozen=True)
class Description:
    """A finished answer: text, which frames it is about, mode, timings."""

    job_id: int
    mode: str
    text: str
    frame_times: tuple[float, ...]
    timings: Timings
    finish_reason: str
    tag: Any = None


class WorkerSignals(QObject):
    """The worker's signals, on an object that stays on the creating thread.

    The worker's own thread is busy in its loop and runs no event loop, so anything queued
    to an object living there would never be delivered; these live where listeners are.
    """

    ready = Signal(object)  # BackendInfo
    load_failed = Signal(str)
    load_progress = Signal(int, int)  # bytes downloaded, total bytes (first run only)
    job_started = Signal(int)
    partial = Signal(int, str)  # job id, text so far
    finished = Signal(object)  # Description
    failed = Signal(int, str)  # job id, message
    dropped = Signal(int)  # job id replaced before it ran
    task_finished = Signal(int, object)  # job id, the task's result


class InferenceWorker(QObject):
    """Runs on the model thread; talk to it only through `submit`, `cancel` and `stop`."""

    def __init__(self, backend_factory: Callable[[], VisionBackend], *, warm_up: bool = True) -> None:
        super().__init__()
        self.signals = WorkerSignals()
        self._factory = backend_factory
        self._warm_up = warm_up
        self._cond = threading.Condition()
        self._pending: Job | None = None
        self._current: tuple[Job, CancelToken] | None = None
        self._stop = False
        self.backend: VisionBackend | None = None
        self.thread_ident: int | None = None

    def submit(self, job: Job) -> None:
        """Queue `job` (any thread), replacing a stale one."""
        with self._cond:
            old = self._pending
            if old is not None and old.priority == "user" and job.priority == "auto":
                self.signals.dropped.emit(job.id)  # never push a user's request aside for narration
                return
            self._pending = job
            if old is not None:
                self.signals.dropped.emit(old.id)
            if job.priority == "user" and self._current is not None and self._current[0].priority == "auto":
                self._current[1].cancel()  # the user's request goes first
            self._cond.notify()

    def cancel(self) -> None:
        """Stop the running generation after its current token and drop the waiting one."""
        with self._cond:
            if self._pending is not None:
                self.signals.dropped.emit(self._pending.id)
                self._pending = None
            if self._current is not None:
                self._current[1].cancel()

    def stop(self) -> None:
        """Ask the loop to end (any thread): cancels the running job."""
        with self._cond:
            self._stop = True
            if self._current is not None:
                self._current[1].cancel()
            self._cond.notify()

    @property
    def busy(self) -> bool:
        """Whether a generation is running."""
        with self._cond:
            return self._current is not None

    @Slot()
    def run(self) -> None:
        """Load, warm up, then serve jobs until stopped (runs on the model thread)."""
        self.thread_ident = threading.get_ident()
        try:
            self._serve()
        finally:
            if self.backend is not None:
                self.backend.close()
            thread = QThread.currentThread()
            if thread is not None:
                thread.quit()

    def _serve(self) -> None:
        try:
            backend = self._factory()
            if hasattr(backend, "on_download_progress"):
                backend.on_download_progress = self.signals.load_progress.emit
            backend.load()
            if self._warm_up:
                backend.warm_up()
        except BackendError as exc:
            self.signals.load_failed.emit(str(exc))
            return
        except Exception as exc:
            log.exception("model failed to load")
            self.signals.load_failed.emit(f"The model could not be loaded: {type(exc).__name__}: {exc}")
            return
        self.backend = backend
        self.signals.ready.emit(backend.info)
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait(0.5)
                if self._stop:
                    return
                job, self._pending = self._pending, None
                assert job is not None
                cancel = CancelToken()
                self._current = (job, cancel)
            try:
                self._run_job(backend, job, cancel)
            finally:
                with self._cond:
                    self._current = None

    def _run_job(self, backend: VisionBackend, job: Job, cancel: CancelToken) -> None:
        started = time.monotonic()
        self.signals.job_started.emit(job.id)
        if job.task is not None:
            try:
                result = job.task(backend, cancel)
            except Exception as exc:  # reported, never fatal to the worker
                log.exception("task failed")
                self.signals.failed.emit(job.id, f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc))
                return
            self.signals.task_finished.emit(job.id, result)
            return
        text = ""
        stats = None
        try:
            for chunk in backend.stream(job.request, cancel):
                stats = chunk.stats
                if chunk.text:
                    text = (text + chunk.text).lstrip()
                    self.signals.partial.emit(job.id, text)
        except BackendError as exc:
            self.signals.failed.emit(job.id, str(exc))
            return
        except Exception as exc:  # a model error must not kill the worker
            log.exception("generation failed")
            self.signals.failed.emit(job.id, f"The model failed on this request: {type(exc).__name__}: {exc}")
            return
        assert stats is not None
        timings = Timings(
            queue_wait_s=started - job.submitted_at,
            preprocess_s=stats.preprocess_s,
            time_to_first_token_s=stats.time_to_first_token_s,
            tokens_per_s=stats.decode_tokens_per_s,
            total_s=time.monotonic() - job.submitted_at,
            prompt_tokens=stats.prompt_tokens,
            generated_tokens=stats.generated_tokens,
        )
        self.signals.finished.emit(
            Description(
                job_id=job.id,
                mode=job.mode,
                text=text.strip(),
                frame_times=tuple(f.timestamp for f in job.request.frames),
                timings=timings,
                finish_reason=stats.finish_reason or "stop",
                tag=job.tag,
            )
        )


class InferenceEngine(QObject):
    """Owns the model thread: start it, submit jobs, shut it down within a bound."""

    def __init__(self, backend_factory: Callable[[], VisionBackend], *, warm_up: bool = True) -> None:
        super().__init__()
        self._ids = itertools.count(1)
        self.worker = InferenceWorker(backend_factory, warm_up=warm_up)
        self.signals = self.worker.signals
        self.model_thread = QThread()
        self.model_thread.setObjectName("smolsight-inference")
        self.worker.moveToThread(self.model_thread)
        self.model_thread.started.connect(self.worker.run)
        self._started = False

    def start(self) -> None:
        """Start the model thread (it loads the model, then waits for jobs)."""
        if not self._started:
            self._started = True
            self.model_thread.start()

    def submit(
        self, request: GenerationRequest, *, mode: str, priority: Priority = "user", tag: Any = None
    ) -> int:
        """Queue a request; returns its job id (signals carry it)."""
        job = Job(next(self._ids), request, mode, priority, time.monotonic(), tag)
        self.worker.submit(job)
        return job.id

    def run_task(self, task: Callable[[VisionBackend, CancelToken], Any], *, mode: str) -> int:
        """Run `task(backend, cancel)` on the model thread; `task_finished` carries its result."""
        dummy = GenerationRequest(prompt=mode)
        job = Job(next(self._ids), dummy, mode, "user", time.monotonic(), None, task)
        self.worker.submit(job)
        return job.id

    def cancel(self) -> None:
        """Cancel the running and the waiting request."""
        self.worker.cancel()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop the worker and wait for its thread; False (and an error log) on timeout."""
        self.worker.stop()
        if not self._started:
            return True
        self.model_thread.quit()
        if not self.model_thread.wait(int(timeout * 1000)):
            log.error("the model thread did not stop within %.1f s; it is still running", timeout)
            return False
        return True
