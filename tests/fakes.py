"""Hand-written fakes injected through constructors (no patching of internals)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.config import LEGACY_KEYS, Settings, SpeechSettings
from app.inference.chat_format import render_prompt
from app.inference.generation import StatsClock
from app.inference.model_files import download_progress
from app.inference.types import (
    BackendInfo,
    CancelToken,
    GenerationChunk,
    GenerationRequest,
    LoadProgressCallback,
)
from app.speech.speaker import SpeechStatus


@dataclass
class Call:
    """What the fake backend was asked."""

    prompt: str
    frame_times: tuple[float, ...]
    thread: int
    cancelled: bool = False


@dataclass
class FakeBackend:
    """A backend that answers with `answer(request)`, at once unless a test asks for a cost.

    `seconds_per_call` (real time, for tests of a busy model) is spread over `tokens` steps;
    the cancel token is checked at each step, like the real backends do per generated token.
    """

    answer: Callable[[GenerationRequest], str] = lambda request: "A red mug on a wooden desk."
    seconds_per_call: float = 0.0
    tokens: int = 8
    calls: list[Call] = field(default_factory=list)
    load_thread: int | None = None
    closed: bool = False
    loaded: threading.Event = field(default_factory=threading.Event)
    download_steps: tuple[tuple[int, int], ...] = ()  # (done, total) bytes reported during load
    load_seconds: float = 0.0

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("fake", "fake-model", "cpu", "float32")

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        self.load_thread = threading.get_ident()
        for done, total in self.download_steps:
            if progress is not None:
                progress(download_progress(done, total))
        time.sleep(self.load_seconds)
        self.loaded.set()

    def warm_up(self) -> None:
        pass

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        call = Call(render_prompt(request), tuple(f.timestamp for f in request.frames), threading.get_ident())
        self.calls.append(call)
        clock = StatsClock()
        clock.preprocessed(len(call.prompt.split()))
        words = self.answer(request).split(" ")
        per_step = self.seconds_per_call / self.tokens
        pieces = [w + " " for w in words]
        for i in range(self.tokens):
            if cancel is not None and cancel.cancelled:
                call.cancelled = True
                yield GenerationChunk("", clock.stats(finish="cancelled"))
                return
            if per_step:
                time.sleep(per_step)
            clock.token()
            if i < len(pieces):
                yield GenerationChunk(pieces[i], clock.stats())
        rest = "".join(pieces[self.tokens :])
        yield GenerationChunk(rest, clock.stats(finish="stop"))

    def close(self) -> None:
        self.closed = True


SCENE = "A red mug stands on a wooden desk next to a blue laptop."


def memory_only_answer(request: GenerationRequest) -> str:
    """Answer like a model that can use only the words in its prompt.

    With frames it describes the scene; without frames it can answer a follow-up only if
    the scene's description is in the prompt (the scene log). Else: "I can't tell."
    """
    if request.frames:
        return SCENE
    prompt = request.prompt
    notes, _, question = prompt.rpartition("\n\n")
    q = question.lower()
    if "colour" in q or "color" in q:
        m = re.search(r"(\w+) mug", notes)
        return f"The mug was {m.group(1)}." if m else "I can't tell."
    if "on what" in q or "stand on" in q:
        m = re.search(r"on an? (\w+ \w+)", notes)
        return f"It stood on a {m.group(1)}." if m else "I can't tell."
    if "next to" in q:
        m = re.search(r"next to an? (\w+ \w+)", notes)
        return f"Next to it was a {m.group(1)}." if m else "I can't tell."
    return "I can't tell."


class FakeSpeaker(QObject):
    """Speech that records what it is asked to say; `fail(reason)` makes it unavailable, as a stall would.

    The real `Speaker` runs an engine in a helper process (tests/e2e/test_speech.py); window tests
    need only what reached speech, so they inject this instead of starting a process each.
    """

    status_changed = Signal(object)  # SpeechStatus
    undelivered = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.muted = False
        self.applied = SpeechSettings()
        self.history: list[str] = []  # every text handed to "the engine", in order
        self.urgent: list[bool] = []  # whether each one interrupted what was being said
        self.started = 0
        self._status = SpeechStatus("off")

    @property
    def status(self) -> SpeechStatus:
        return self._status

    def _set(self, status: SpeechStatus) -> None:
        self._status = status
        self.status_changed.emit(status)

    def start(self) -> None:
        self.started += 1
        if self._status.state == "off":
            self._set(SpeechStatus("ready", engine="fake"))

    def fail(self, reason: str) -> None:
        self._set(SpeechStatus("unavailable", reason=reason))

    def recover(self) -> None:
        self._set(SpeechStatus("ready", engine="fake"))

    def say(self, text: str, *, interrupt: bool = False) -> None:
        if self.muted or not text.strip():
            return
        if self._status.state != "ready":
            self.undelivered.emit(text)
            return
        self.history.append(text)
        self.urgent.append(interrupt)

    def stop(self) -> None:
        pass

    def apply(self, settings: SpeechSettings) -> None:
        self.muted = settings.muted
        self.applied = settings

    def voice_names(self) -> list[str]:
        return ["Fake voice"]

    def engine_names(self) -> list[str]:
        return ["fake"]

    def shutdown(self) -> None:
        if self._status.state != "off":
            self._set(SpeechStatus("off"))


class FakeScreenReader:
    """A screen reader that records what it was handed: (text, urgent), in order."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, bool]] = []

    def announce(self, text: str, *, urgent: bool) -> None:
        self.heard.append((text, urgent))


def settings_of(**values: object) -> Settings:
    """Settings with some values set, each named as it is within its group (interval_s, theme, …)."""
    return Settings().with_values({LEGACY_KEYS[key]: value for key, value in values.items()})
