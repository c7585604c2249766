"""Narration policy: when to ask the model, what to ask, and what is worth saying aloud.

Plain Python, no Qt: the change gate skips the model while the scene is unchanged, the
de-duplicator keeps repeated descriptions from being announced, and the scene log gives
follow-up questions a memory of what was seen.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Literal

from app.capture.change import ChangeGate
from app.capture.frames import Frame
from app.config import NarrationSettings
from app.inference.model_events import Priority
from app.prompts import (
    SCENE_LOG_HEADER,
    SCENE_LOG_NAMES,
    Preset,
    clip_prompt,
    describe_prompt,
    question_prompt,
    style,
)
from app.reading.reader import NO_TEXT
from app.timecode import format_clock

Mode = Literal["continuous", "describe", "what_happened", "ask", "picture", "read"]
# The modes `narrate --mode` offers; "picture" is a one-off picture from elsewhere (the active
# window, the clipboard) described without leaving the source being narrated.
MODES: tuple[Mode, ...] = ("continuous", "describe", "what_happened", "ask")


_HEDGES = re.compile(
    r"\b(probably|maybe|perhaps|likely|possibly|i think|it seems|there is|there are|i see)\b"
)
_ARTICLES = re.compile(r"\b(a|an|the|some)\b")


def normalize(text: str) -> str:
    """Lowercase words without punctuation, hedges or articles, for comparing meaning."""
    text = text.lower()
    text = _HEDGES.sub(" ", text)
    text = _ARTICLES.sub(" ", text)
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


class Deduper:
    """Says whether a description repeats one of the last few (fuzzy, on normalized text)."""

    def __init__(self, *, similarity: float = 80.0, window: int = 5) -> None:
        self.similarity = similarity
        self._recent: deque[str] = deque(maxlen=window)

    def score(self, text: str) -> float:
        """Highest similarity (0–100) to a recent description."""
        from rapidfuzz import fuzz

        norm = normalize(text)
        if not norm:
            return 100.0  # empty text says nothing new
        return max((fuzz.token_sort_ratio(norm, old) for old in self._recent), default=0.0)

    def is_repeat(self, text: str) -> bool:
        """Whether `text` says the same as a recent description."""
        return self.score(text) >= self.similarity

    def remember(self, text: str) -> None:
        """Add a description to the recent ones."""
        self._recent.append(normalize(text))

    def clear(self) -> None:
        """Forget recent descriptions."""
        self._recent.clear()


@dataclass(frozen=True)
class LogEntry:
    """One line of the scene log."""

    time: float  # source time in seconds
    kind: Literal["description", "question", "answer"]
    text: str


class SceneLog:
    """What was seen and said, newest last; the memory behind follow-up questions."""

    def __init__(self, *, capacity: int = 100, enabled: bool = True) -> None:
        self.enabled = enabled
        self._entries: deque[LogEntry] = deque(maxlen=capacity)

    def add(self, time: float, kind: Literal["description", "question", "answer"], text: str) -> None:
        """Record an entry (ignored when memory is turned off)."""
        if self.enabled and text.strip():
            self._entries.append(LogEntry(time, kind, text.strip()))

    def recent(self, count: int = 8) -> list[LogEntry]:
        """The last `count` entries, oldest first."""
        return list(self._entries)[-count:]

    def as_context(self, count: int = 8) -> str:
        """The recent log as plain lines for a prompt ('' when empty or disabled)."""
        entries = self.recent(count) if self.enabled else []
        if not entries:
            return ""
        lines = [f"[{format_clock(e.time)}] {SCENE_LOG_NAMES[e.kind]}: {e.text}" for e in entries]
        return SCENE_LOG_HEADER + "\n".join(lines) + "\n\n"

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class Ask:
    """What the narrator wants the model to do: prompt, frames, length, and why."""

    mode: Mode
    prompt: str
    frames: tuple[Frame, ...]
    max_tokens: int
    priority: Priority
    question: str = ""
    subject: str = ""  # what a one-off picture shows ("the active window"), for mode "picture"
    read: bool = False  # for the text reader, not the model: "Read" and the "text" preset


@dataclass(frozen=True)
class Verdict:
    """What to do with a finished description: announce it, or show it as unchanged.

    "stale": the scene changed again while the description was being written; it is said as
    past ("A moment ago: …") or, if the user chose so, not said at all. "stopped": the user
    stopped the answer; what was written so far is shown, never remembered as the scene.
    """

    announce: bool
    reason: Literal["new", "unchanged", "answer", "empty", "stale", "stopped"]


class Narrator:
    """Turns frames and user commands into model asks, and answers into announcements.

    Its knobs are the user's narration settings (`apply` is the only way they change), plus
    what the person is looking for right now (`look_for`: a preset and a target), which is
    not a saved setting.
    """

    def __init__(self, settings: NarrationSettings | None = None) -> None:
        self.settings = settings or NarrationSettings()
        self.gate = ChangeGate(self.settings.change_threshold)
        self.dedup = Deduper()
        self.log = SceneLog(enabled=self.settings.memory)
        self.preset: Preset = "scene"
        self.target = ""
        self._last_auto_at: float | None = None

    def apply(self, settings: NarrationSettings) -> None:
        """Use the user's narration settings from now on (gate threshold and memory included)."""
        self.settings = settings
        self.gate.threshold = settings.change_threshold
        self.log.enabled = settings.memory

    def look_for(self, preset: Preset, target: str = "") -> None:
        """What descriptions should look for: the whole scene, text, people, … or a named thing."""
        self.preset, self.target = preset, target.strip()

    def on_sampled_frame(self, frame: Frame) -> Ask | None:
        """Continuous mode: an ask once the interval has passed, when the scene changed (or to read)."""
        if self._last_auto_at is not None and frame.timestamp - self._last_auto_at < 0:
            self._last_auto_at = None  # the source restarted
        if self._last_auto_at is not None and frame.timestamp - self._last_auto_at < self.settings.interval_s:
            return None
        # Reading looks at every interval: a new slide or sign looks alike to the change gate
        # (light panel, dark print), and a reading without text costs under 0.1 s. Text already
        # read is not said again (the de-duplication in `on_answer`).
        if not self.reading and not self.gate.check(frame):
            return None
        self.gate.accept(frame)
        self._last_auto_at = frame.timestamp
        return Ask("continuous", self._describe_prompt(), (frame,), self._tokens(), "auto", read=self.reading)

    @property
    def reading(self) -> bool:
        """Whether the person is looking for text: then the text reader answers, not the model."""
        return self.preset == "text"

    def describe_now(self, frame: Frame) -> Ask:
        """The user asked for a description of the current frame."""
        self.gate.accept(frame)
        return Ask("describe", self._describe_prompt(), (frame,), self._tokens(), "user", read=self.reading)

    def read_now(self, frame: Frame) -> Ask:
        """The user asked for the current frame's text, read as written."""
        return Ask("read", "", (frame,), 0, "user", read=True)

    def describe_picture(self, picture: Frame, subject: str) -> Ask:
        """The user asked about one picture from elsewhere (a window, the clipboard).

        The source's scene, its change gate and its freshness are left as they are.
        """
        return Ask("picture", self._describe_prompt(), (picture,), self._tokens(), "user", subject=subject)

    def what_just_happened(self, frames: list[Frame]) -> Ask:
        """The user asked what happened over the recent clip."""
        return Ask(
            "what_happened", clip_prompt(self.settings.verbosity), tuple(frames), self._tokens(2), "user"
        )

    def ask(self, question: str, frame: Frame | None) -> Ask:
        """The user's own question, with the scene log as memory and the current frame if any."""
        context = self.log.as_context()
        prompt = context + question_prompt(question, self.settings.verbosity)
        frames = (frame,) if frame is not None else ()
        return Ask("ask", prompt, frames, self._tokens(2), "user", question=question.strip())

    def _describe_prompt(self) -> str:
        return describe_prompt(self.settings.verbosity, self.preset, self.target)

    def _tokens(self, factor: int = 1) -> int:
        return style(self.settings.verbosity).max_tokens * factor

    def outrun(self, ask: Ask, now: Frame | None) -> bool:
        """Whether the scene in `now` has changed since the frame `ask` describes (a change-gate change)."""
        if now is None or not ask.frames or ask.mode not in ("continuous", "describe"):
            return False
        described = ask.frames[-1]
        if now.timestamp <= described.timestamp:
            return False
        score = self.gate.score(self.gate.signature(now), self.gate.signature(described))
        return score >= self.settings.change_threshold

    def on_answer(
        self, ask: Ask, text: str, time: float, *, outrun: bool = False, stopped: bool = False
    ) -> Verdict:
        """Log the answer and decide whether it is worth announcing (and whether it is stale)."""
        text = text.strip()
        if stopped:
            return Verdict(False, "stopped")
        if not text:
            return Verdict(False, "empty")
        if ask.mode == "ask":
            self.log.add(time, "question", ask.question)
            self.log.add(time, "answer", text)
            return Verdict(True, "answer")
        if ask.read and ask.priority == "auto" and text.startswith(NO_TEXT):
            return Verdict(False, "empty")  # reading as it comes into view: nothing to say yet
        self.log.add(time, "description", text)
        if ask.mode == "continuous" and self.dedup.is_repeat(text):
            return Verdict(False, "unchanged")
        self.dedup.remember(text)
        if outrun:
            return Verdict(self.settings.stale == "say_as_past", "stale")
        return Verdict(True, "new")

    def reset(self) -> None:
        """A new source: forget the reference frame, recent texts and timing (keep the log)."""
        self.gate.reset()
        self.dedup.clear()
        self._last_auto_at = None
