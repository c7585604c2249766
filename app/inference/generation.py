"""The one generation loop every local engine uses, split the way mlx-lm splits it.

A backend supplies what only it can do: turn a request into a `TokenStream` (preprocessing,
then a lazy iterator whose first item costs the prefill and each further item one decoding
step) and turn token ids back into text. OpenVINO and transformers make their token stream
with `sampled_tokens` from a prefill and a step function that return logits, so they share
the sampler too; MLX hands over mlx-vlm's own tokens (its sampler runs on its thread-bound
stream). Everything else lives here once: the context check, cancel checks before every step,
the end-of-answer tokens, the token budget, UTF-8 characters that span tokens, stop strings,
and the statistics.
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from app.capture.frames import Frame
from app.inference.answer import collect
from app.inference.backend import check_context
from app.inference.images import LIVE_TILE
from app.inference.types import (
    BackendInfo,
    CancelToken,
    FinishReason,
    GenerationChunk,
    GenerationRequest,
    GenerationStats,
    LoadProgressCallback,
)
from app.prompts import WARM_UP_PROMPT

DEFAULT_CONTEXT = 8192  # SmolVLM2's; a model folder's config says its own (`context_limit`)


@dataclass
class TokenStream:
    """A backend's answer to one request, as token ids; see the module docs.

    `prompt_tokens` is known after preprocessing, or (MLX, which preprocesses and prefills in
    one call) set by the stream itself with `prefill_s` once its first token is out.
    """

    ids: Iterator[int]
    prompt_tokens: int | None = None
    prefill_s: float | None = None
    vision_s: float | None = None  # set by the stream once its prefill ran, where measured


def sample(logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator | None) -> int:
    """Greedy at temperature 0, else temperature + nucleus sampling (seeded: repeatable)."""
    if temperature <= 0 or rng is None:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float64) / temperature
    weights = np.exp(scaled - scaled.max())
    probs = weights / weights.sum()
    if top_p < 1.0:
        order = np.argsort(-probs)
        kept = order[np.cumsum(probs[order]) - probs[order] < top_p]
        probs = np.zeros_like(probs)
        probs[kept] = weights[kept]
        probs /= probs.sum()
    return int(rng.choice(len(probs), p=probs))


def sampled_tokens(
    prefill: Callable[[], np.ndarray], step: Callable[[int], np.ndarray], request: GenerationRequest
) -> Iterator[int]:
    """Tokens from a prefill and a step function that return the last position's logits.

    Lazy: the prefill runs at the first `next()`, and the step for a token only when the next
    one is asked for, so stopping (end of answer, budget, cancel) never costs a step.
    """
    rng = np.random.default_rng(0) if request.temperature > 0 else None
    logits = prefill()
    while True:
        token = sample(logits, request.temperature, request.top_p, rng)
        yield token
        logits = step(token)


class StatsClock:
    """Builds `GenerationStats` as a generation proceeds."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.preprocess_s = 0.0
        self.prompt_tokens = 0
        self.first_token_at: float | None = None
        self.generated = 0

    def preprocessed(self, prompt_tokens: int, *, prefill_s: float | None = None) -> None:
        """Mark the end of preprocessing; with `prefill_s`, the prefill (that long) ended just now."""
        self.preprocess_s = max(0.0, time.perf_counter() - self.start - (prefill_s or 0.0))
        self.prompt_tokens = prompt_tokens

    def token(self) -> None:
        """Count one generated token."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.generated += 1

    def stats(
        self, *, finish: FinishReason | None = None, peak: int | None = None, vision_s: float | None = None
    ) -> GenerationStats:
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
            vision_s=vision_s,
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


class StreamingDetokenizer:
    """The text of a growing answer, piece by piece, at a cost per token that does not grow.

    Decoding the whole answer again for every token costs its length squared (detailed
    descriptions, summaries); this decodes a window of the last few ids instead, as
    text-generation-inference's `decode_token` does: the text the window adds beyond its
    already-emitted start is the new piece. A piece ending in an unfinished UTF-8 character
    (a multi-byte character spans tokens) waits for the next token.
    """

    def __init__(self, decode: Callable[[list[int]], str]) -> None:
        self._decode = decode
        self._ids: list[int] = []
        self._start = 0  # where the decoded window begins: ids before it are done with
        self._emitted = 0  # ids whose text has been given out

    def add(self, token: int) -> str:
        """The text `token` completes (empty while a character is unfinished)."""
        self._ids.append(token)
        done = self._decode(self._ids[self._start : self._emitted])
        text = self._decode(self._ids[self._start :])
        if len(text) <= len(done) or text.endswith("\ufffd"):
            return ""
        self._start, self._emitted = self._emitted, len(self._ids)
        return text[len(done) :]

    def flush(self) -> str:
        """What is left at the end of the answer: the characters before an unfinished one."""
        done = self._decode(self._ids[self._start : self._emitted])
        text = self._decode(self._ids[self._start :])
        self._start = self._emitted = len(self._ids)
        return text[len(done) :].rstrip("\ufffd")


def process_peak_rss_bytes() -> int | None:
    """Peak resident memory of this process so far, where the platform reports it.

    On Linux the peak of this program's own memory (`VmHWM`): `ru_maxrss` keeps, across the
    `exec` that started it, the size of the process it was forked from (a benchmark's parent
    that had just built a model made every child's peak look 4 GB).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass  # not Linux
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


def warm_up_request() -> GenerationRequest:
    """One grey frame and a two-token answer: compiles kernels, fills caches."""
    grey = np.full((LIVE_TILE, LIVE_TILE, 3), 128, dtype=np.uint8)
    return GenerationRequest(prompt=WARM_UP_PROMPT, frames=(Frame(grey),), max_tokens=2)


class LocalBackend(ABC):
    """What the engines that run the model in this process share: streaming, warming up, limits.

    Subclasses load the model and set `eos` (the ids that end an answer) and `context`, and
    implement `prepare` and `detokenize`; `stream` is `generate` over them.
    """

    eos: frozenset[int] = frozenset()
    context: int = DEFAULT_CONTEXT

    @property
    @abstractmethod
    def info(self) -> BackendInfo:
        """What is loaded, on which device, in which dtype."""

    @abstractmethod
    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Load the model."""

    @abstractmethod
    def prepare(self, request: GenerationRequest) -> TokenStream:
        """Preprocess `request` and return its tokens (lazily computed); NotLoaded before `load()`."""

    @abstractmethod
    def detokenize(self, ids: list[int]) -> str:
        """Text for generated ids, special tokens left out."""

    @abstractmethod
    def close(self) -> None:
        """Release the model."""

    def peak_memory(self) -> int | None:
        """The peak memory figure for statistics: the process's, unless the device keeps its own."""
        return process_peak_rss_bytes()

    def warm_up(self) -> None:
        """One tiny generation so kernels are compiled before the first real request."""
        collect(self.stream(warm_up_request()))

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        """Yield decoded text as it grows, with running statistics; the last chunk has `finish_reason`."""
        return generate(self, request, cancel)


def generate(
    backend: LocalBackend, request: GenerationRequest, cancel: CancelToken | None = None
) -> Iterator[GenerationChunk]:
    """The loop itself; see the module docs."""
    clock = StatsClock()
    tokens = backend.prepare(request)
    known = tokens.prompt_tokens is not None
    if tokens.prompt_tokens is not None:
        clock.preprocessed(tokens.prompt_tokens)
        check_context(request, tokens.prompt_tokens, backend.context)
    if cancel is not None and cancel.cancelled:
        yield GenerationChunk("", clock.stats(finish="cancelled"))
        return
    stops = StopMatcher(request.stop)
    text = StreamingDetokenizer(backend.detokenize)
    finish: FinishReason = "length"
    stopped_by_string = False
    try:
        while clock.generated < request.max_tokens:
            if cancel is not None and cancel.cancelled:
                finish = "cancelled"
                break
            token = next(tokens.ids, None)
            if not known and tokens.prompt_tokens is not None:
                known = True
                clock.preprocessed(tokens.prompt_tokens, prefill_s=tokens.prefill_s)
                check_context(request, tokens.prompt_tokens, backend.context)
            if token is None or token in backend.eos:
                finish = "stop"
                break
            clock.token()
            piece, hit = stops.feed(text.add(token))
            if piece:
                yield GenerationChunk(piece, clock.stats(vision_s=tokens.vision_s))
            if hit:
                finish = "stop"
                stopped_by_string = True
                break
    finally:
        close = getattr(tokens.ids, "close", None)
        if close is not None:
            close()  # a generator stops here: no step is computed after the last token
    tail = ""
    if not stopped_by_string:  # the text held back (an unfinished character, a stop string's start)
        tail, hit = stops.feed(text.flush())
        tail += "" if hit else stops.flush()
    yield GenerationChunk(
        tail, clock.stats(finish=finish, peak=backend.peak_memory(), vision_s=tokens.vision_s)
    )
