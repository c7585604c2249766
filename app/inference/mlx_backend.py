"""SmolVLM2 through MLX (`mlx-vlm`): fast on Apple Silicon, also runs (slowly) on Linux CPUs.

MLX streams are bound to the thread that created them: import, load and generate must all
happen on one long-lived thread. This backend records the loading thread and refuses to
generate from any other, with a clear error instead of MLX's "There is no Stream(gpu, N)".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.inference.base import (
    BackendError,
    StatsClock,
    StopMatcher,
    check_context,
    prepare_image,
    warm_up_request,
)
from app.inference.chat_format import render_prompt
from app.inference.models import context_limit, default_model, resolve_model
from app.inference.types import (
    BackendInfo,
    CancelToken,
    FinishReason,
    GenerationChunk,
    GenerationRequest,
    LoadProgressCallback,
)


def mlx_available() -> bool:
    """Whether `mlx` and `mlx-vlm` import here."""
    try:
        import mlx.core  # noqa: F401
        import mlx_vlm  # noqa: F401
    except Exception:
        return False
    return True


class MLXBackend:
    """SmolVLM2 via `mlx_vlm.load` and `mlx_vlm.stream_generate`."""

    def __init__(self, *, model: str | None = None, allow_download: bool = True) -> None:
        """Remember the settings; `load()` does the work on the calling thread."""
        self._model_name = model or default_model("mlx")
        self._allow_download = allow_download
        self._model: Any = None
        self._processor: Any = None
        self._device = "?"
        self.folder: Path | None = None
        self._context = 8192
        self.load_thread: int | None = None
        self.last_stream_thread: int | None = None

    @property
    def info(self) -> BackendInfo:
        """Backend, model, device and dtype."""
        dtype = "?"
        if self._model is not None:
            from mlx.utils import tree_flatten

            leaves = tree_flatten(self._model.language_model.parameters())
            if leaves:
                dtype = str(leaves[0][1].dtype).replace("mlx.core.", "")
        return BackendInfo("mlx", self._model_name, self._device, dtype)

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Import MLX and load the model on this thread; later calls must use this thread."""
        try:
            import mlx.core as mx
            from mlx_vlm import load
        except Exception as exc:
            raise BackendError(
                f"The MLX backend needs the packages mlx and mlx-vlm ({exc}). "
                "On Apple Silicon they install with SmolSight; elsewhere use --backend transformers."
            ) from exc
        self.folder = resolve_model(self._model_name, allow_download=self._allow_download, progress=progress)
        try:
            self._model, self._processor = load(str(self.folder))
        except (OSError, ValueError, KeyError) as exc:
            raise BackendError(f"Could not load the model from {self.folder}: {exc}") from exc
        self._device = str(mx.default_device()).replace("Device(", "").rstrip(")")
        self._context = context_limit(self.folder)
        self.load_thread = threading.get_ident()

    def warm_up(self) -> None:
        """One tiny generation so the first real request is not slow."""
        for _ in self.stream(warm_up_request()):
            pass

    def _check_thread(self) -> None:
        if self._model is None:
            raise BackendError("The model is not loaded yet.")
        if threading.get_ident() != self.load_thread:
            raise BackendError(
                "MLX models must be used from the thread that loaded them "
                "(MLX streams are thread-bound); run load() and stream() on one worker thread."
            )

    def _images(self, request: GenerationRequest) -> list[Any] | None:
        # The processor tiles images unless told otherwise; we decide per request.
        self._processor.image_processor.do_image_splitting = request.split_images
        return [prepare_image(f, split=request.split_images) for f in request.frames] or None

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """Prompt length in tokens, images expanded."""
        self._check_thread()
        from mlx_vlm.utils import prepare_inputs

        inputs = prepare_inputs(
            self._processor,
            images=self._images(request),
            prompts=render_prompt(request),
            image_token_index=getattr(self._model.config, "image_token_index", None),
        )
        return int(inputs["input_ids"].shape[1])

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        """Yield text pieces from `mlx_vlm.stream_generate`, stopping on cancel."""
        self._check_thread()
        self.last_stream_thread = threading.get_ident()
        from mlx_vlm import stream_generate

        clock = StatsClock()
        if request.text_chars > 2000 or len(request.frames) > 32:  # only then can it overflow
            check_context(request, self.count_prompt_tokens(request), self._context)
        images = self._images(request)
        prompt = render_prompt(request)
        stops = StopMatcher(request.stop)
        finish: FinishReason = "length"
        peak: int | None = None
        kwargs: dict[str, Any] = {"max_tokens": request.max_tokens, "temperature": request.temperature}
        if request.top_p < 1.0:
            kwargs["top_p"] = request.top_p
        first = True
        for result in stream_generate(self._model, self._processor, prompt, image=images, **kwargs):
            if first:
                # mlx-vlm preprocesses and prefills before its first yield; split the two
                # with its own prefill rate.
                clock.preprocessed(int(result.prompt_tokens))
                if result.prompt_tps:
                    prefill_s = result.prompt_tokens / result.prompt_tps
                    clock.preprocess_s = max(0.0, clock.preprocess_s - prefill_s)
                first = False
            if cancel is not None and cancel.cancelled:
                finish = "cancelled"
                break
            peak = int(result.peak_memory * 1e9) if result.peak_memory else None
            while clock.generated < result.generation_tokens:
                clock.token()
            piece, hit = stops.feed(result.text)
            if piece:
                yield GenerationChunk(piece, clock.stats())
            if hit:
                finish = "stop"
                break
            if result.finish_reason:
                finish = "stop" if result.finish_reason == "stop" else "length"
        tail = stops.flush() if finish != "stop" else ""
        yield GenerationChunk(tail, clock.stats(finish=finish, peak=peak))

    def close(self) -> None:
        """Drop the model."""
        self._model = None
        self._processor = None
