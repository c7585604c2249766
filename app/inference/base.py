"""The backend protocol every engine implements, and helpers they share."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from app.capture.frames import Frame, to_rgb_array
from app.inference.clean import clean_text
from app.inference.types import (
    BackendInfo,
    CancelToken,
    FinishReason,
    GenerationChunk,
    GenerationRequest,
    GenerationResult,
    GenerationStats,
    LoadProgressCallback,
)
from app.prompts import WARM_UP_PROMPT

if TYPE_CHECKING:
    from PIL import Image

LIVE_TILE = 512  # one SigLIP tile: 64 image tokens after the pixel shuffle
SPLIT_LONGEST_EDGE = 2048  # the processor's own limit when tiling


class BackendError(RuntimeError):
    """A failure the user can act on (model missing, bad input); the message says what to do."""


class ContextTooLong(BackendError):
    """The prompt and the answer's token budget don't fit in the model's context (OpenAI's wording)."""

    def __init__(self, prompt_tokens: int, max_tokens: int, limit: int) -> None:
        super().__init__(
            f"This model's maximum context length is {limit} tokens. However, you requested "
            f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, {max_tokens} in the "
            "completion). Please reduce the length of the messages or completion."
        )
        self.prompt_tokens = prompt_tokens
        self.max_tokens = max_tokens
        self.limit = limit


def check_context(request: GenerationRequest, prompt_tokens: int, model_limit: int) -> None:
    """Raise ContextTooLong when the prompt plus `max_tokens` exceed the context."""
    limit = min(model_limit, request.max_context_tokens or model_limit)
    if prompt_tokens + request.max_tokens > limit:
        raise ContextTooLong(prompt_tokens, request.max_tokens, limit)


@runtime_checkable
class VisionBackend(Protocol):
    """A loaded vision-language model that streams answers.

    `load()` and every `stream()` must run on the same thread for MLX; callers keep one
    long-lived thread per backend. `stream()` checks `cancel` once per generated token and
    then finishes with `finish_reason="cancelled"`.
    """

    @property
    def info(self) -> BackendInfo:
        """What is loaded, on which device, in which dtype."""
        ...

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Load weights and processor; may download (or convert) once, reporting `progress`."""
        ...

    def warm_up(self) -> None:
        """Run one tiny generation so the first real request is not slow."""
        ...

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        """Yield text pieces with running statistics; the last one has `finish_reason`."""
        ...

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """How many tokens the prompt of `request` has (images expanded)."""
        ...

    def close(self) -> None:
        """Release the model."""
        ...


def collect(chunks: Iterator[GenerationChunk]) -> GenerationResult:
    """Drain a stream into its full text and final statistics."""
    result = GenerationResult()
    pieces: list[str] = []
    for chunk in chunks:
        pieces.append(chunk.text)
        result.stats = chunk.stats
    result.text = clean_text("".join(pieces)).strip()
    return result


def prepare_image(frame: Frame, *, split: bool) -> Image.Image:
    """Downscale a frame once, cheaply, before the processor sees it.

    Without splitting the processor would squeeze any frame to one 512 px tile anyway;
    shrinking here with area averaging is faster and sharper than letting it resize a
    full-size frame twice. With splitting, cap at the processor's 2048 px limit.
    """
    import cv2
    from PIL import Image

    array = to_rgb_array(frame.image)
    limit = SPLIT_LONGEST_EDGE if split else LIVE_TILE
    h, w = array.shape[:2]
    scale = limit / max(h, w)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        array = cv2.resize(array, size, interpolation=cv2.INTER_AREA)
    return Image.fromarray(np.ascontiguousarray(array))


def process_peak_rss_bytes() -> int | None:
    """Peak resident memory of this process so far, where the platform reports it."""
    try:
        import resource
    except ImportError:  # Windows
        try:
            import psutil

            return int(psutil.Process().memory_info().peak_wset)  # type: ignore[attr-defined]
        except Exception:
            return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class StatsClock:
    """Builds `GenerationStats` as a generation proceeds."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.preprocess_s = 0.0
        self.prompt_tokens = 0
        self.first_token_at: float | None = None
        self.generated = 0

    def preprocessed(self, prompt_tokens: int) -> None:
        """Mark the end of preprocessing."""
        self.preprocess_s = time.perf_counter() - self.start
        self.prompt_tokens = prompt_tokens

    def token(self) -> None:
        """Count one generated token."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.generated += 1

    def stats(self, *, finish: FinishReason | None = None, peak: int | None = None) -> GenerationStats:
        """The figures so far."""
        now = time.perf_counter()
        ttft = None if self.first_token_at is None else self.first_token_at - self.start
        prefill_tps = None
        decode_tps = None
        if ttft is not None:
            prefill_time = ttft - self.preprocess_s
            if prefill_time > 0:
                prefill_tps = self.prompt_tokens / prefill_time
            assert self.first_token_at is not None
            decode_time = now - self.first_token_at
            if self.generated > 1 and decode_time > 0:
                decode_tps = (self.generated - 1) / decode_time
        return GenerationStats(
            prompt_tokens=self.prompt_tokens,
            generated_tokens=self.generated,
            preprocess_s=self.preprocess_s,
            time_to_first_token_s=ttft,
            prefill_tokens_per_s=prefill_tps,
            decode_tokens_per_s=decode_tps,
            total_s=now - self.start,
            peak_memory_bytes=peak,
            finish_reason=finish,
        )


class StopMatcher:
    """Finds stop strings in streamed text and holds back a tail that might start one."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._pending = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        """Return the text safe to emit now and whether a stop string was reached."""
        if not self._stops:
            return piece, False
        text = self._pending + piece
        hits = [text.find(s) for s in self._stops if s in text]
        if hits:
            self._pending = ""
            return text[: min(hits)], True
        hold = max(len(s) - 1 for s in self._stops)
        cut = len(text)
        for k in range(1, min(hold, len(text)) + 1):
            if any(s.startswith(text[-k:]) for s in self._stops):
                cut = len(text) - k
        self._pending = text[cut:]
        return text[:cut], False

    def flush(self) -> str:
        """Whatever was held back, at the end of the stream."""
        rest, self._pending = self._pending, ""
        return rest


def warm_up_request() -> GenerationRequest:
    """One grey 512 px frame and a two-token answer: compiles kernels, fills caches."""
    grey = np.full((LIVE_TILE, LIVE_TILE, 3), 128, dtype=np.uint8)
    return GenerationRequest(prompt=WARM_UP_PROMPT, frames=(Frame(grey),), max_tokens=2)
