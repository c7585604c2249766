"""The one model thread: every caller's generations and tasks run here, one at a time.

The desktop app, `describe`, `narrate`, `summarize`, `eval`, `bench` and the HTTP server all
use this `ModelThread`. Its thread creates the backend *inside* itself (MLX streams are bound to
the thread that made them), loads it, warms it up, reports load progress and errors once for
everyone, then runs jobs until it is shut down:

- a **generation** (`submit`): a `GenerationRequest` streamed token by token;
- a **task** (`run_task`): a longer piece of work given the loaded backend (a video summary,
  a benchmark).

The model's state (`ModelState`, in `model_events.py`: loading with its progress, ready with
what is loaded, missing, failed, stopped) is one vocabulary for everyone: the window shows it,
the commands report it, the server's `/health` answers with it, and `NotReady` says its
`not_ready_reason()`.

Every submission returns a `JobHandle` with `cancel()` and `result()`. What happens when
work arrives while the model is busy is the queue policy, chosen by the caller:

- `LatestWins` (live narration): one waiting slot; a newer job replaces an unread one, except
  that automatic narration never pushes a user's request aside, and a user's request
  interrupts automatic narration that is running.
- `BoundedFifo(n)` (the server): first come, first served, at most `n` waiting per client; a
  full queue refuses at once with `QueueFull` (HTTP 429), rather than piling work up. With
  several clients waiting they are served in turn (the one served longest ago first), so
  one client's burst can't starve the others.

It is a plain Python thread, not a QThread: the CLI and the server have no Qt event loop to
deliver signals, while a plain callback (`listener`) serves everyone; the Qt adapter for
widgets (`app/live/model_signals.py`) turns those callbacks into queued signals.
Cancellation is cooperative: backends check the token once per generated token. Shutdown is
stop → bounded join, and says so loudly when the bound runs out.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeAlias, TypeVar

from app.inference.answer import AnswerText
from app.inference.backend import BackendError, VisionBackend, exception_line
from app.inference.model_events import (
    Answer,
    Dropped,
    JobDropped,
    JobFailed,
    JobStarted,
    Listener,
    LoadFailure,
    ModelChanged,
    ModelEvent,
    ModelState,
    ModelStatus,
    NotReady,
    Partial,
    Priority,
    QueueFull,
    TaskDone,
)
from app.inference.types import (
    BackendInfo,
    CancelToken,
    GenerationChunk,
    GenerationRequest,
    GenerationStats,
    LoadProgress,
)

__all__ = [
    "Answer",
    "BackendFactory",
    "BoundedFifo",
    "Dropped",
    "JobDropped",
    "JobFailed",
    "JobHandle",
    "JobStarted",
    "LatestWins",
    "Listener",
    "LoadFailure",
    "ModelChanged",
    "ModelEvent",
    "ModelState",
    "ModelStatus",
    "ModelThread",
    "NotReady",
    "Partial",
    "Priority",
    "QueueFull",
    "Task",
    "TaskDone",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
BackendFactory = Callable[[], VisionBackend]
Task = Callable[[VisionBackend, CancelToken], T]


# --- queue policies ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LatestWins:
    """One waiting slot; newest wins, users over automatic narration (live narration)."""


@dataclass(frozen=True)
class BoundedFifo:
    """First come, first served, clients in turn; at most `max_waiting` wait per client (servers)."""

    max_waiting: int = 4  # per client
    max_total: int = 64  # all clients together

    def __post_init__(self) -> None:
        """Check the bound."""
        if self.max_waiting < 1:
            raise ValueError(f"max_waiting must be at least 1, got {self.max_waiting}")


QueuePolicy: TypeAlias = LatestWins | BoundedFifo


# --- jobs and handles ---------------------------------------------------------------------------
@dataclass
class _Job:
    id: int
    priority: Priority
    submitted_at: float
    cancel: CancelToken
    request: GenerationRequest | None = None
    task: Task[object] | None = None
    on_chunk: Callable[[GenerationChunk], None] | None = None
    client: str = ""  # who asked (the server: the client's address), for taking turns
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Answer | TaskDone | JobFailed | Dropped | None = None
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    error: Exception | None = None  # what a failed job raised, re-raised by result()


class JobHandle(Generic[T]):
    """One submitted job: cancel it, or wait for its result."""

    def __init__(self, job: _Job) -> None:
        self._job = job

    @property
    def id(self) -> int:
        """The job's number; events carry it."""
        return self._job.id

    def cancel(self) -> None:
        """Stop the job after its current token (or before it starts)."""
        self._job.cancel.cancel()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called."""
        return self._job.cancel.cancelled

    def done(self) -> bool:
        """Whether the job finished, failed or was dropped."""
        return self._job.done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until done; False when `timeout` ran out first."""
        return self._job.done.wait(timeout)

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once the job is done (on the model thread, or now if it is done)."""
        with self._job.lock:
            if not self._job.done.is_set():
                self._job.callbacks.append(callback)
                return
        callback()

    def result(self, timeout: float | None = None) -> T:
        """The job's result: a `Answer` for generations, the task's return value for tasks.

        Raises what the job raised when it failed (a `BackendError` for model failures),
        `JobDropped` when it never ran, and `TimeoutError` when `timeout` ran out.
        """
        if not self._job.done.wait(timeout):
            raise TimeoutError(f"job {self.id} did not finish within {timeout} s")
        outcome = self._job.outcome
        if isinstance(outcome, JobFailed):
            if self._job.error is not None:
                raise self._job.error
            raise BackendError(outcome.message)
        if isinstance(outcome, Dropped) or outcome is None:
            raise JobDropped("The request was replaced by a newer one or cancelled before it ran.")
        if isinstance(outcome, TaskDone):
            return outcome.value  # type: ignore[return-value]
        return outcome  # type: ignore[return-value]


# --- the model thread ---------------------------------------------------------------------------
class ModelThread:
    """Owns the model thread. Create, `start()`, submit jobs, `shutdown()`."""

    def __init__(
        self,
        backend_factory: BackendFactory,
        *,
        policy: QueuePolicy | None = None,
        warm_up: bool = True,
        listener: Listener | None = None,
        name: str = "smolsight-model",
        first_id: int = 1,
    ) -> None:
        self._factory = backend_factory
        self.policy: QueuePolicy = policy or LatestWins()
        self._warm_up = warm_up
        self._listeners: list[Listener] = [listener] if listener else []
        self._ids = itertools.count(first_id)  # a second model thread counts from elsewhere
        self._cond = threading.Condition()
        self._waiting: deque[_Job] = deque()
        self._turns: dict[str, int] = {}  # the turn each client was last served at
        self._turn_counter = itertools.count(1)
        self._current: _Job | None = None
        self._reload_to: BackendFactory | None = None
        self._stop = False
        self._retiring = False  # finish what waits, then stop (`retire`)
        self._started = False
        self._model = ModelState()
        self._load_error: BackendError | None = None
        self._loaded = threading.Event()  # set when a load attempt ends (ready or failed)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread_ident: int | None = None

    # --- observing ---------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Also tell `listener` about every event (called on the model thread)."""
        self._listeners.append(listener)

    @property
    def model_state(self) -> ModelState:
        """Where the model is (loading, ready, missing, failed, stopped)."""
        return self._model

    @property
    def info(self) -> BackendInfo | None:
        """What is loaded, once ready."""
        return self._model.info

    @property
    def waiting(self) -> int:
        """Jobs waiting behind the running one."""
        with self._cond:
            return len(self._waiting)

    @property
    def running(self) -> bool:
        """Whether the model thread is alive."""
        return self._thread.is_alive()

    @property
    def busy(self) -> bool:
        """Whether a job is running."""
        with self._cond:
            return self._current is not None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the model thread: it loads the model, then waits for jobs."""
        with self._cond:
            if self._started:
                return
            self._started = True
        self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> BackendInfo:
        """Block until loading ends; the loaded model's info, or the load's error (a BackendError)."""
        self.start()
        if not self._loaded.wait(timeout):
            raise TimeoutError(f"the model did not load within {timeout} s")
        state = self._model
        if not state.ready or state.info is None:
            if self._load_error is not None:
                raise self._load_error
            raise BackendError(state.not_ready_reason())
        return state.info

    def reload(
        self, backend_factory: BackendFactory | None = None, *, progress: LoadProgress | None = None
    ) -> None:
        """Load another model (or the same one anew) after the running job; the state is loading.

        `progress` is what the state says until the model thread reports (a download, say).
        """
        state = ModelState("loading", progress=progress)
        with self._cond:
            self._reload_to = backend_factory or self._factory
            self._factory = self._reload_to
            self._model = state
            self._loaded.clear()
            if self._current is not None and self._current.priority == "auto":
                self._current.cancel.cancel()
            self._cond.notify()
        self._emit(ModelChanged(state))

    def retire(self) -> None:
        """Finish the running job and every waiting one, then stop (another model thread took over).

        Jobs submitted meanwhile still run; once the queue is empty the thread ends, closes its
        backend, and later submissions get `NotReady`.
        """
        with self._cond:
            self._retiring = True
            self._cond.notify()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancel everything, stop the thread and wait for it; False (logged) when it did not stop."""
        with self._cond:
            self._stop = True
            if self._current is not None:
                self._current.cancel.cancel()
            dropped = list(self._waiting)
            self._waiting.clear()
            self._cond.notify()
        for job in dropped:
            self._finish(job, Dropped(job.id))
        if not self._thread.is_alive():  # never started, or already ended
            if self._model.status != "stopped":
                self._set_model(ModelState("stopped"))
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the model thread did not stop within %.1f s; it is still running", timeout)
            return False
        return True

    # --- submitting ----------------------------------------------------------------------------
    def submit(
        self,
        request: GenerationRequest,
        *,
        priority: Priority = "user",
        on_chunk: Callable[[GenerationChunk], None] | None = None,
        client: str = "",
    ) -> JobHandle[Answer]:
        """Queue a generation; `on_chunk` gets every streamed chunk on the model thread.

        `client` names who asked, so that clients take turns (`BoundedFifo`). Raises `NotReady`
        while loading or after a failed load, `QueueFull` when a bounded queue is full.
        """
        job = _Job(
            next(self._ids),
            priority,
            time.monotonic(),
            CancelToken(),
            request=request,
            on_chunk=on_chunk,
            client=client,
        )
        self._enqueue(job)
        return JobHandle(job)

    def run_task(self, task: Task[T], *, priority: Priority = "user") -> JobHandle[T]:
        """Queue `task(backend, cancel)` to run on the model thread with the loaded backend."""
        job = _Job(next(self._ids), priority, time.monotonic(), CancelToken(), task=task)  # type: ignore[arg-type]
        self._enqueue(job)
        return JobHandle(job)

    def cancel_all(self) -> None:
        """Stop the running job after its current token and drop the waiting ones."""
        with self._cond:
            dropped = list(self._waiting)
            self._waiting.clear()
            if self._current is not None:
                self._current.cancel.cancel()
        for job in dropped:
            self._finish(job, Dropped(job.id))

    def _enqueue(self, job: _Job) -> None:
        dropped: list[_Job] = []
        with self._cond:
            if self._stop:
                raise NotReady("SmolSight is shutting down.")
            if not self._model.ready:
                raise NotReady(self._model.not_ready_reason())
            if isinstance(self.policy, BoundedFifo):
                mine = sum(1 for waiting in self._waiting if waiting.client == job.client)
                if mine >= self.policy.max_waiting or len(self._waiting) >= self.policy.max_total:
                    raise QueueFull("The model is busy: every waiting slot is taken. Try again shortly.")
                self._waiting.append(job)
            else:
                old = self._waiting[0] if self._waiting else None
                if old is not None and old.priority == "user" and job.priority == "auto":
                    dropped.append(job)  # narration never pushes a person's request aside
                else:
                    if old is not None:
                        dropped.append(self._waiting.popleft())
                    self._waiting.append(job)
                    running = self._current
                    if job.priority == "user" and running is not None and running.priority == "auto":
                        running.cancel.cancel()  # the person's request goes first
            self._cond.notify()
        for d in dropped:
            self._finish(d, Dropped(d.id))

    # --- the model thread ----------------------------------------------------------------------
    def _emit(self, event: ModelEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not kill the model thread
                log.exception("a model-thread listener failed on %s", type(event).__name__)

    def _finish(self, job: _Job, outcome: Answer | TaskDone | JobFailed | Dropped) -> None:
        with job.lock:
            job.outcome = outcome
            job.done.set()
            callbacks, job.callbacks = job.callbacks, []
        self._emit(outcome)
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("a job's done-callback failed")

    def _set_model(self, state: ModelState) -> None:
        with self._cond:
            self._model = state
        self._emit(ModelChanged(state))

    def _load(self, old: VisionBackend | None) -> VisionBackend | None:
        if old is not None:
            old.close()
        self._load_error = None

        def report(progress: LoadProgress) -> None:
            self._set_model(ModelState("loading", progress=progress))

        started = time.perf_counter()
        try:
            backend = self._factory()
            report(LoadProgress("load", "Loading the model…"))
            backend.load(report)
            if self._warm_up:
                report(LoadProgress("warm_up", "Warming up the model…"))
                backend.warm_up()
        except BackendError as exc:
            from app.inference.model_files import ModelUnavailable

            missing = isinstance(exc, ModelUnavailable) and exc.missing
            detail = getattr(exc, "detail", "") or (repr(exc.__cause__) if exc.__cause__ else "")
            log.info("the model did not load: %s (%s)", exc, detail)
            self._load_error = exc
            size = getattr(exc, "download_size", "")
            self._load_failed(LoadFailure(str(exc), detail, missing, size))
            return None
        except Exception as exc:
            log.exception("the model failed to load")
            failure = LoadFailure("The model could not be loaded.", f"{type(exc).__name__}: {exc}")
            self._load_error = BackendError(f"{failure.message} ({failure.detail})")
            self._load_failed(failure)
            return None
        info = backend.info
        with self._cond:
            superseded = self._reload_to is not None  # a reload asked for meanwhile starts over
        if not superseded:
            log.info(
                "loaded the model %s with %s on %s (%s) in %.1f s",
                info.model,
                info.backend,
                info.device,
                info.dtype,
                time.perf_counter() - started,
            )
            self._set_model(ModelState("ready", info=info))
            self._loaded.set()
        return backend

    def _load_failed(self, failure: LoadFailure) -> None:
        state = ModelState("missing" if failure.missing else "failed", failure=failure)
        with self._cond:
            if self._reload_to is not None:
                return  # superseded by a reload: its own outcome will be reported
            self._model = state
            failed = list(self._waiting)
            self._waiting.clear()
        self._loaded.set()
        self._emit(ModelChanged(state))
        for job in failed:
            self._finish(job, JobFailed(job.id, state.not_ready_reason()))

    def _run(self) -> None:
        self.thread_ident = threading.get_ident()
        backend: VisionBackend | None = None
        try:
            backend = self._load(None)
            while True:
                with self._cond:
                    while not (self._waiting or self._stop or self._retiring or self._reload_to is not None):
                        self._cond.wait(0.5)
                    if self._retiring and not self._waiting:
                        self._stop = True  # from now on a submission is refused, not stranded
                    if self._stop:
                        return
                    if self._reload_to is not None:
                        self._reload_to = None
                        job = None
                    else:
                        job = self._next_job()
                        self._current = job
                if job is None:
                    backend = self._load(backend)
                    continue
                try:
                    self._run_job(backend, job)
                finally:
                    with self._cond:
                        self._current = None
        finally:
            if backend is not None:
                backend.close()
            self._set_model(ModelState("stopped"))
            self._loaded.set()

    def _next_job(self) -> _Job:
        """The next waiting job (the lock held): clients in turn, each one's own in order."""
        job = min(self._waiting, key=lambda j: (self._turns.get(j.client, 0), j.id))
        self._waiting.remove(job)
        self._turns[job.client] = next(self._turn_counter)
        return job

    def _run_job(self, backend: VisionBackend | None, job: _Job) -> None:
        if backend is None:
            self._finish(job, JobFailed(job.id, self._model.not_ready_reason()))
            return
        if job.cancel.cancelled:
            self._finish(job, Dropped(job.id))
            return
        started = time.monotonic()
        self._emit(JobStarted(job.id))
        if job.task is not None:
            try:
                value = job.task(backend, job.cancel)
            except Exception as exc:  # reported to its caller; never fatal to the model thread
                if not isinstance(exc, ValueError | BackendError):
                    log.exception("a task failed on the model thread")
                job.error = exc
                self._finish(job, JobFailed(job.id, _failure(exc)))
                return
            self._finish(job, TaskDone(job.id, value))
            return
        assert job.request is not None
        try:
            text, stats = self._generate(backend, job)
        except Exception as exc:
            if not isinstance(exc, BackendError):
                log.exception("a generation failed on the model thread")
            job.error = exc if isinstance(exc, BackendError) else BackendError(_failure(exc))
            self._finish(job, JobFailed(job.id, _failure(exc)))
            return
        self._finish(
            job,
            Answer(
                job_id=job.id,
                text=text,
                frame_times=tuple(f.timestamp for f in job.request.frames),
                stats=stats,
                queue_wait_s=started - job.submitted_at,
                total_s=time.monotonic() - job.submitted_at,
            ),
        )

    def _generate(self, backend: VisionBackend, job: _Job) -> tuple[str, GenerationStats]:
        assert job.request is not None
        answer = AnswerText()  # every caller gets the same clean text, streamed and whole
        for raw in backend.stream(job.request, job.cancel):
            chunk = answer.add(raw)
            if job.on_chunk is not None:
                job.on_chunk(chunk)
            if chunk.text:
                self._emit(Partial(job.id, answer.so_far))
        return answer.text, answer.stats


def _failure(exc: BaseException) -> str:
    """One sentence for a failed request: ours as they are, a runtime's in one line (the log has it all)."""
    if isinstance(exc, BackendError | ValueError):
        return str(exc)
    return f"The model failed on this request ({exception_line(exc)}); the details are in SmolSight's log."
