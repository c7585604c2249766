"""What every inference engine is: the `VisionBackend` protocol, and the errors it raises."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from app.inference.types import (
    BackendInfo,
    CancelToken,
    GenerationChunk,
    GenerationRequest,
    LoadProgressCallback,
)


class BackendError(RuntimeError):
    """A failure the user can act on (model missing, bad input); the message says what to do."""


class NotLoaded(BackendError):
    """A backend was asked to work before `load()` finished."""

    def __init__(self) -> None:
        super().__init__("The model is not loaded yet.")


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
    long-lived thread per backend (the model thread). `stream()` checks `cancel` once per
    generated token and then finishes with `finish_reason="cancelled"`. The local engines
    share one generation loop (`app/inference/generation.py`); a remote one streams what its
    server sends.
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

    def close(self) -> None:
        """Release the model."""
        ...


def exception_line(exc: BaseException) -> str:
    """`Type: message` in one line, for a runtime's exception.

    The last non-empty line of its message that is not a Python frame: that says what went wrong
    (OpenVINO's first lines name its source files, its last ones the Python frames it passed).
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # Python frames a runtime appends to its message ("At:", "file.py(12): function") say nothing
    lines = [line for line in lines if line != "At:" and not re.fullmatch(r"\S.*\(\d+\): \S+", line)]
    said = lines[-1] if lines else ""
    return f"{type(exc).__name__}: {said[:240]}" if said else type(exc).__name__
