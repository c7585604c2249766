"""Live narration: ties a frame source, the 1 FPS buffer, the narrator and the model thread.

Shared by the desktop app and `smolsight narrate`, and the window's one door to the model thread:
the model's state (`model_changed`), answers, narration, errors and longer tasks (a video
summary) all come through here, each once. QtCore only: a timer on the owning thread polls
the newest frame and the source's events, so no frame ever queues up and the owning thread
never blocks.
"""

from __future__ import annotations

import itertools
import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.capture.buffer import FrameBuffer, LatestFrame
from app.capture.frames import Frame, to_rgb_array
from app.capture.sources import CaptureEvent, FrameSource
from app.config import Settings, SummarySettings
from app.inference.backend import VisionBackend
from app.inference.leaving import LeavingThreads
from app.inference.model_thread import (
    Answer,
    BackendFactory,
    JobDropped,
    JobHandle,
    LatestWins,
    ModelState,
    ModelThread,
    NotReady,
)
from app.inference.types import (
    BackendInfo,
    CancelToken,
    GenerationRequest,
    GenerationStats,
    LoadProgress,
    PromptTooLong,
)
from app.live.model_signals import ModelSignals
from app.live.reading import TextReading
from app.narration.policy import Ask, Narrator, Verdict
from app.prompts import Preset
from app.video.summarize import Progress, VideoSummary, summarize

STALE_PREFIX = "A moment ago: "


@dataclass(frozen=True)
class NarrationEvent:
    """A finished description, what was asked, whether to announce it, and how old its picture is."""

    description: Answer
    ask: Ask
    verdict: Verdict
    source_time: float  # seconds into the source of the newest frame it describes
    age_s: float = 0.0  # how long ago (in the source's time) that frame was, when the answer arrived

    @property
    def spoken(self) -> str:
        """What to say: the text, as past when the scene has already changed again."""
        text = self.description.text
        return f"{STALE_PREFIX}{text}" if self.verdict.reason == "stale" else text


class TaskWatch(QObject):
    """One longer task's outcome (a video summary), delivered on the thread that started it."""

    done = Signal(object)  # what the task returned
    failed = Signal(str)  # why it could not finish

    def __init__(self, handle: JobHandle[object]) -> None:
        super().__init__()
        self._handle = handle
        handle.add_done_callback(self._on_done)  # on the model thread: the signals are queued

    def cancel(self) -> None:
        """Ask the task to stop (a summary keeps the scenes it finished)."""
        self._handle.cancel()

    def _on_done(self) -> None:
        try:
            value = self._handle.result(timeout=0)
        except JobDropped:
            self.failed.emit("It was stopped before it started.")
        except Exception as exc:
            self.failed.emit(str(exc))
        else:
            self.done.emit(value)


# The most accurate model's job ids: far from the main model thread's (both count up).
ACCURATE_FIRST_ID = 1_000_000_000


class LiveSession(QObject):
    """Continuous narration plus the user's commands over one source at a time."""

    narration = Signal(object)  # NarrationEvent
    partial = Signal(str)  # the answer so far (for live captions)
    capture_event = Signal(object)  # CaptureEvent
    error = Signal(str)  # the model failed on a request
    model_changed = Signal(object)  # ModelState
    accurate_changed = Signal(object)  # ModelState of the most accurate model beside (`use_accurate`)
    busy_changed = Signal(bool)

    def __init__(
        self, model_thread: ModelThread, settings: Settings | None = None, *, poll_ms: int = 50
    ) -> None:
        super().__init__()
        if not isinstance(model_thread.policy, LatestWins):
            raise ValueError("live narration needs a model thread whose queue policy is LatestWins")
        narration = (settings or Settings()).narration
        self.read_text = (settings or Settings()).describe.read_text
        self.model_thread = model_thread
        self.signals = ModelSignals(model_thread)
        self.narrator = Narrator(narration)
        self.buffer = FrameBuffer(fps=narration.buffer_fps, capacity=narration.buffer_frames)
        self.latest = LatestFrame()
        self.source: FrameSource | None = None
        self.continuous = True
        self._last_seq = 0
        self._asks: dict[int, Ask] = {}
        self.last_seen: Frame | None = None  # the picture the user last asked about (questions from anywhere)
        self.reading = TextReading()
        self.reading.finished.connect(self._on_read)
        self.reading.failed.connect(self._on_read_failed)
        self._reading_ids = itertools.count(-1, -1)  # the model thread's ids count up from 1
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._on_tick)
        self._wire(self.signals)
        self.signals.model_changed.connect(self.model_changed)
        # The most accurate model, for the user's questions and detailed descriptions, when the
        # user asks for it (`use_accurate`); narration stays on `model_thread`.
        self.accurate: ModelThread | None = None
        self._accurate_signals: ModelSignals | None = None
        self._stopping = LeavingThreads()  # accurate models replaced, on their way out

    def _wire(self, w: ModelSignals) -> None:
        w.finished.connect(self._on_finished)
        w.partial.connect(self._on_partial)
        w.failed.connect(self._on_failed)
        w.dropped.connect(self._on_dropped)
        w.job_started.connect(self._on_busy)
        w.task_finished.connect(self._on_busy)

    # --- the most accurate model beside ----------------------------------------------------
    def use_accurate(self, backend_factory: BackendFactory | None) -> None:
        """Answer the user's questions and detailed descriptions on a model of its own (None: stop).

        Its model thread starts here; the one it replaces stops (its answer under way is
        cancelled). Until it is ready, and whenever it is not, everything goes to the main model.
        """
        model_thread = None
        if backend_factory is not None:
            model_thread = ModelThread(backend_factory, first_id=ACCURATE_FIRST_ID, name="smolsight-accurate")
        old, self.accurate = self.accurate, model_thread
        if self._accurate_signals is not None:
            self._accurate_signals.blockSignals(True)  # the old thread's last news means nothing now
            self._accurate_signals = None
        if old is not None:
            # Its answers under way end unheard (its news is blocked): forget them here.
            for job in [job for job in self._asks if job >= ACCURATE_FIRST_ID]:
                del self._asks[job]
            self._stopping.stop(old)  # joined at shutdown if it has not ended by then
            self.accurate_changed.emit(ModelState("stopped"))
        if model_thread is not None:
            self._accurate_signals = ModelSignals(model_thread)
            self._wire(self._accurate_signals)
            self._accurate_signals.model_changed.connect(self.accurate_changed)
            model_thread.start()

    def _thread_for(self, ask: Ask) -> ModelThread:
        """Where an ask goes: the most accurate model for the user's questions and detailed descriptions."""
        accurate = self.accurate
        if accurate is None or not accurate.model_state.ready or ask.priority != "user":
            return self.model_thread
        detailed = ask.mode == "describe" and self.narrator.settings.verbosity == "detailed"
        return accurate if ask.mode == "ask" or detailed else self.model_thread

    def _threads(self) -> list[ModelThread]:
        return [t for t in (self.model_thread, self.accurate) if t is not None]

    # --- sources -------------------------------------------------------------------------
    def set_source(self, source: FrameSource) -> None:
        """Stop the current source and start `source`; history of the old one is dropped."""
        self.stop_source()
        self.latest = source.latest
        self.buffer.clear()
        self.narrator.reset()
        self._last_seq = 0
        self.source = source
        source.start()
        self._timer.start()

    def apply(self, settings: Settings) -> None:
        """Narrate with the user's settings from now on: the narrator's, and the buffer's if they changed.

        A new frame rate or buffer length starts the frame history anew.
        """
        self.read_text = settings.describe.read_text
        new = settings.narration
        if (new.buffer_fps, new.buffer_frames) != (self.buffer.fps, self.buffer.capacity):
            self.buffer = FrameBuffer(fps=new.buffer_fps, capacity=new.buffer_frames)
        self.narrator.apply(new)

    def stop_source(self) -> None:
        """Stop reading frames (the model thread keeps running)."""
        if self.source is not None:
            self.source.stop()
            self._drain_events()
            self.source = None

    def start(self) -> None:
        """Start the model thread and polling."""
        self.model_thread.start()
        self._timer.start()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop source, polling and model thread; True when everything stopped in time."""
        self._timer.stop()
        self.stop_source()
        read = self.reading.shutdown(timeout)
        results = [t.shutdown(timeout) for t in (self.accurate,) if t is not None]
        stopped = all([*results, self._stopping.shutdown(timeout)])  # every one asked, even after a failure
        return self.model_thread.shutdown(timeout) and read and stopped

    # --- the user's commands ---------------------------------------------------------------
    def current_frame(self) -> Frame | None:
        """The newest frame from the source."""
        frame, _ = self.latest.get()
        return frame

    def describe_now(self) -> int | None:
        """Describe the current frame now (interrupts narration); None without a frame."""
        frame = self.current_frame()
        if frame is None:
            return None
        return self._submit(self.narrator.describe_now(frame))

    def read_now(self) -> int | None:
        """Read the current frame's text as written (the text reader; no model needed)."""
        frame = self.current_frame()
        if frame is None:
            return None
        return self._submit(self.narrator.read_now(frame))

    def describe_picture(self, picture: Frame, subject: str) -> int | None:
        """Describe a picture from elsewhere (`subject`: "the active window", …) once, now."""
        return self._submit(self.narrator.describe_picture(picture, subject))

    def what_just_happened(self, seconds: float | None = None) -> int | None:
        """Describe the last few seconds as a clip; None without frames."""
        frames = self.buffer.clip(seconds or self.narrator.settings.clip_seconds)
        if not frames:
            frame = self.current_frame()
            frames = [frame] if frame is not None else []
        if not frames:
            return None
        return self._submit(self.narrator.what_just_happened(frames))

    def ask(self, question: str, *, with_frame: bool = True) -> int | None:
        """Answer the user's question about the scene, using the scene log as memory."""
        if not question.strip():
            return None
        frame = self.current_frame() if with_frame else None
        return self._submit(self.narrator.ask(question, frame))

    def ask_about_last(self, question: str) -> int | None:
        """Answer a question about the picture the user last asked to see, else the source's newest."""
        if not question.strip():
            return None
        frame = self.last_seen or self.current_frame()
        return self._submit(self.narrator.ask(question, frame))

    def cancel(self) -> None:
        """Stop the running answer."""
        for model_thread in self._threads():
            model_thread.cancel_all()

    def summarize(
        self, video: Path, settings: SummarySettings, progress: Callable[[Progress], None]
    ) -> TaskWatch:
        """Summarize `video` on the model (narration's answers wait); NotReady when it can't start.

        `progress` is called on the model thread; the outcome comes on this thread.
        """

        def task(backend: VisionBackend, cancel: CancelToken) -> VideoSummary:
            return summarize(
                video, backend, settings, progress=progress, cancel=cancel, read_text=self.read_text
            )

        return TaskWatch(self.model_thread.run_task(task))

    @property
    def pending_jobs(self) -> int:
        """Requests submitted whose answers have not arrived yet."""
        return len(self._asks)

    @property
    def busy(self) -> bool:
        """Whether a model is working on something (an answer, narration, a summary)."""
        return any(t.busy for t in self._threads())

    @property
    def model_state(self) -> ModelState:
        """Where the model is: loading, ready, missing, failed."""
        return self.model_thread.model_state

    @property
    def model_info(self) -> BackendInfo | None:
        """What is loaded, once ready."""
        return self.model_thread.info

    def look_for(self, preset: Preset, target: str = "") -> None:
        """What descriptions should look for from now on: the scene, text, people, or a named thing."""
        self.narrator.look_for(preset, target)

    def latest_frame(self) -> LatestFrame:
        """Where the newest frame of the current source is kept (what the picture on screen shows)."""
        return self.latest

    def forget_scene(self) -> None:
        """Forget what was seen and said (the memory behind follow-up questions)."""
        self.narrator.log.clear()

    def _submit(self, ask: Ask) -> int | None:
        if ask.frames and ask.priority == "user" and ask.mode != "ask":
            self.last_seen = ask.frames[-1]  # what the user last asked to see (narration passes by)
        if ask.read:
            job_id = next(self._reading_ids)
            self._asks[job_id] = ask
            self.reading.read(job_id, to_rgb_array(ask.frames[-1].image), user=ask.priority == "user")
            return job_id
        try:
            request = GenerationRequest(
                prompt=ask.prompt,
                frames=ask.frames,
                max_tokens=ask.max_tokens,
                read_text=self.read_text,
            )
            job = self._thread_for(ask).submit(request, priority=ask.priority)
        except (NotReady, PromptTooLong) as exc:
            self.error.emit(str(exc))
            return None
        self._asks[job.id] = ask
        return job.id

    # --- polling and results -----------------------------------------------------------------
    def _drain_events(self) -> None:
        if self.source is None:
            return
        while True:
            try:
                event: CaptureEvent = self.source.events.get_nowait()
            except queue.Empty:
                return
            self.capture_event.emit(event)

    @Slot()
    def _on_tick(self) -> None:
        self._drain_events()
        frame, seq = self.latest.get()
        if frame is None or seq == self._last_seq:
            return
        self._last_seq = seq
        if not self.buffer.offer(frame):
            return
        if self.continuous and (self.model_is_ready or self.narrator.reading):
            ask = self.narrator.on_sampled_frame(frame)
            if ask is not None:
                self._submit(ask)

    @property
    def model_is_ready(self) -> bool:
        """Whether the model is loaded and takes requests."""
        return self.model_thread.model_state.ready

    def reload(
        self, backend_factory: BackendFactory | None = None, *, progress: LoadProgress | None = None
    ) -> None:
        """Load the model anew (or another one); narration waits until it is ready.

        `progress` is what the model's state says until loading reports (a download, say).
        """
        self._asks.clear()
        self.model_thread.reload(backend_factory, progress=progress)

    @Slot()
    def _on_busy(self) -> None:
        self.busy_changed.emit(self.busy)

    @Slot(int, str)
    def _on_partial(self, job: int, text: str) -> None:
        if job in self._asks:
            self.partial.emit(text)

    @Slot(int)
    def _on_dropped(self, job: int) -> None:
        self._asks.pop(job, None)

    @Slot(int, str)
    def _on_failed(self, job: int, message: str) -> None:
        self.busy_changed.emit(self.busy)
        if self._asks.pop(job, None) is not None:  # a task's failure goes to its own TaskWatch
            self.error.emit(message)

    @Slot(object)
    def _on_finished(self, description: Answer) -> None:
        ask = self._asks.pop(description.job_id, None)
        self.busy_changed.emit(self.busy)
        if ask is None:
            return
        when = description.frame_times[-1] if description.frame_times else self._now()
        if description.finish_reason == "cancelled" and ask.priority == "auto":
            return  # interrupted narration is stale; the user's request follows
        now = self.current_frame()
        age = max(0.0, now.timestamp - when) if now is not None and ask.mode != "picture" else 0.0
        outrun = self.narrator.outrun(ask, now)
        stopped = description.finish_reason == "cancelled"
        verdict = self.narrator.on_answer(ask, description.text, when, outrun=outrun, stopped=stopped)
        self.narration.emit(NarrationEvent(description, ask, verdict, when, age))

    def _on_read(self, job_id: int, text: str, seconds: float) -> None:
        ask = self._asks.get(job_id)
        when = ask.frames[-1].timestamp if ask is not None and ask.frames else self._now()
        stats = GenerationStats(total_s=seconds, finish_reason="stop")
        self._on_finished(Answer(job_id, text, (when,), stats, queue_wait_s=0.0, total_s=seconds))

    def _on_read_failed(self, job_id: int, reason: str) -> None:
        self._asks.pop(job_id, None)
        self.error.emit(reason)

    def _now(self) -> float:
        frame = self.current_frame()
        return frame.timestamp if frame is not None else 0.0
