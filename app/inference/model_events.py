"""What the model thread tells everyone: the model's state, each job's events, and its refusals.

`ModelState` is one vocabulary for the window, the commands and the server's `/health`; the
events (`ModelEvent`) go to the model thread's listeners; `NotReady`, `QueueFull` and
`JobDropped` are why a job was not run. `app.inference.model_thread` runs the thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from app.inference.backend import BackendError
from app.inference.types import BackendInfo, GenerationStats, LoadProgress

Priority = Literal["auto", "user"]  # automatic narration, or something a person asked for
ModelStatus = Literal["loading", "ready", "missing", "failed", "stopped"]


class NotReady(BackendError):
    """The model is still loading, or failed to load; the message says which."""


class QueueFull(BackendError):
    """Every waiting slot of a bounded queue is taken."""


class JobDropped(BackendError):
    """The job was replaced by a newer one (latest wins) or cancelled before it ran."""


# --- the model's state: one vocabulary for the window, the commands and the server ------------
@dataclass(frozen=True)
class LoadFailure:
    """Why the model could not be loaded: one plain sentence, the technical detail, whether it is missing.

    `missing` means the model is not on this computer (getting it fixes that); otherwise it
    was there but could not be loaded.
    """

    message: str
    detail: str = ""
    missing: bool = False
    download_size: str = ""  # what getting it costs, in words ("about 520 MB"), when known


@dataclass(frozen=True)
class ModelState:
    """Where the model is: loading (with progress), ready (with what is loaded), missing, failed, stopped."""

    status: ModelStatus = "loading"
    progress: LoadProgress | None = None
    info: BackendInfo | None = None
    failure: LoadFailure | None = None

    @property
    def ready(self) -> bool:
        """Whether the model takes requests."""
        return self.status == "ready"

    @property
    def health(self) -> Literal["ready", "loading", "error"]:
        """The state in the words of the server's `/health`."""
        if self.status == "ready":
            return "ready"
        return "error" if self.status in ("missing", "failed") else "loading"

    def not_ready_reason(self) -> str:
        """Why a request can't be answered now, in one sentence (what `NotReady` says)."""
        if self.status == "stopped":
            return "SmolSight is shutting down."
        if self.status in ("missing", "failed"):
            return self.failure.message if self.failure else "The model could not be loaded."
        fraction = self.progress.fraction if self.progress else None
        done = f" ({fraction:.0%} done)" if fraction is not None else ""
        return f"The model is still loading{done}; SmolSight can answer as soon as it is ready."


# --- events: what listeners hear, as plain frozen data ------------------------------------------
@dataclass(frozen=True)
class ModelChanged:
    """The model's state changed: loading progress, ready, missing, failed, or a reload began."""

    state: ModelState


@dataclass(frozen=True)
class JobStarted:
    """A job began running on the model thread."""

    job_id: int


@dataclass(frozen=True)
class Partial:
    """The answer so far (whole text, left-stripped), for live captions."""

    job_id: int
    text: str


@dataclass(frozen=True)
class Answer:
    """A finished generation: its text, the frames it is about, and its figures."""

    job_id: int
    text: str
    frame_times: tuple[float, ...]
    stats: GenerationStats
    queue_wait_s: float
    total_s: float  # from submission to the last token

    @property
    def finish_reason(self) -> str:
        """stop, length or cancelled."""
        return self.stats.finish_reason or "stop"


@dataclass(frozen=True)
class TaskDone:
    """A task finished; `value` is what it returned."""

    job_id: int
    value: object


@dataclass(frozen=True)
class JobFailed:
    """A job failed; the model thread goes on."""

    job_id: int
    message: str


@dataclass(frozen=True)
class Dropped:
    """A waiting job was replaced or cancelled before it ran."""

    job_id: int


ModelEvent: TypeAlias = ModelChanged | JobStarted | Partial | Answer | TaskDone | JobFailed | Dropped
Listener = Callable[[ModelEvent], None]
