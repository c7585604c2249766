"""Plain data that crosses the engine boundary: frames, requests, streamed chunks, statistics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from app.capture.frames import Frame
from app.limits import MAX_FRAMES

Role = Literal["system", "user", "assistant"]
LoadStage = Literal["download", "convert", "load", "warm_up"]
FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class ChatTurn:
    """One earlier turn of a conversation, as text (images belong to the final request)."""

    role: Role
    text: str


# SmolVLM2 reads 8,192 tokens at most, and a token covers well under 8 characters of text, so
# a longer text can never fit; refusing it before tokenizing keeps a huge body from stalling.
MAX_PROMPT_CHARS = 8 * 8192


class PromptTooLong(ValueError):
    """A request's text is longer than any model context could hold."""

    def __init__(self, chars: int) -> None:
        super().__init__(
            f"The text is {chars} characters long; at most {MAX_PROMPT_CHARS} fit in the model's "
            "context. Please shorten it."
        )
        self.chars = chars


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a backend needs to answer once.

    `frames` go with the final user turn: one frame is a picture; several frames are a clip
    and get SmolVLM2's video prompt with a timestamp before each frame (unless
    `as_video=False`). `history` holds earlier turns (system, user, assistant) as text.
    `split_images` turns on the processor's tiling (up to 16 tiles + 1 global view): much
    slower, only for fine detail such as small print. Live frames use one 512 px tile.
    """

    prompt: str
    frames: tuple[Frame, ...] = ()
    history: tuple[ChatTurn, ...] = ()
    system: str | None = None
    max_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    split_images: bool = False
    as_video: bool | None = None
    max_context_tokens: int | None = None  # a lower limit than the model's context, if any
    read_text: bool = False  # quote the text reader's words instead of the model's (app/inference/seeing.py)

    def __post_init__(self) -> None:
        """Reject values no backend can honour, with a message naming the field."""
        chars = self.text_chars
        if chars > MAX_PROMPT_CHARS:
            raise PromptTooLong(chars)
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if len(self.frames) > MAX_FRAMES:
            raise ValueError(f"at most {MAX_FRAMES} frames per request, got {len(self.frames)}")

    @property
    def text_chars(self) -> int:
        """Characters of text in the request (prompt, system prompt and earlier turns)."""
        return len(self.prompt) + len(self.system or "") + sum(len(t.text) for t in self.history)

    @property
    def is_video(self) -> bool:
        """Whether the frames are presented as a timestamped clip."""
        if self.as_video is not None:
            return self.as_video and len(self.frames) > 0
        return len(self.frames) > 1


@dataclass(frozen=True)
class GenerationStats:
    """Timing and size figures of one generation, updated with every streamed chunk.

    Times are seconds. `preprocess_s` covers image resizing and the processor;
    `time_to_first_token_s` runs from the start of the call (preprocessing included) to the
    first generated token; `vision_s`, where a backend measures it, is the part of that spent
    in the vision encoder (0 when the picture's features were reused). `peak_memory_bytes` is
    the backend's own figure where it has one (MLX's allocator, CUDA's), else the process's
    peak resident memory.
    """

    prompt_tokens: int = 0
    generated_tokens: int = 0
    preprocess_s: float = 0.0
    time_to_first_token_s: float | None = None
    prefill_tokens_per_s: float | None = None
    decode_tokens_per_s: float | None = None
    total_s: float = 0.0
    peak_memory_bytes: int | None = None
    finish_reason: FinishReason | None = None
    note: str = ""  # something the person should hear once (a remote engine's clip was cut down)
    vision_s: float | None = None


@dataclass(frozen=True)
class GenerationChunk:
    """A piece of generated text and the figures so far; the last chunk has `finish_reason`."""

    text: str
    stats: GenerationStats


@dataclass(frozen=True)
class LoadProgress:
    """How far loading has got: downloading the weights, converting them, loading, warming up.

    `done` and `total` count the stage's units (bytes for downloads, steps for conversion);
    `total` 0 means unknown (show a busy indicator).
    """

    stage: LoadStage
    message: str
    done: float = 0.0
    total: float = 0.0

    @property
    def fraction(self) -> float | None:
        """0..1, or None when the total is unknown."""
        return min(1.0, self.done / self.total) if self.total > 0 else None


LoadProgressCallback = Callable[[LoadProgress], None]


@dataclass(frozen=True)
class BackendInfo:
    """What is loaded and where, for status lines and `/health`; `note` says why, if not the usual."""

    backend: str
    model: str
    device: str
    dtype: str
    note: str = ""

    @property
    def model_name(self) -> str:
        """The model as others may read it: a hub id, or a folder's or file's name, never a path."""
        model = self.model.replace("\\", "/")
        if model.startswith(("/", "~", ".")) or ":/" in model or model.count("/") > 1:
            return model.rstrip("/").rsplit("/", 1)[-1]
        return model

    @property
    def engine_name(self) -> str:
        """The engine as others may read it: 'openvino (CPU, int8)'; a remote server without its address."""
        if self.backend == "openai":
            return "a remote OpenAI-compatible server"
        return f"{self.backend} ({self.device}, {self.dtype})"


class CancelToken:
    """Cooperative cancellation: set by anyone, checked by the backend once per token."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the running generation to stop after its current token."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called."""
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, ending the moment cancel() is called; whether it was."""
        return self._event.wait(seconds)


@dataclass
class GenerationResult:
    """The text and final figures of a finished stream (see `collect`)."""

    text: str = ""
    stats: GenerationStats = field(default_factory=GenerationStats)
