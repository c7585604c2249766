"""SmolVLM2 and Qwen3.5 through MLX (`mlx-vlm`): fast on Apple Silicon, also runs (slowly) on Linux CPUs.

MLX streams are bound to the thread that created them: import, load and generate must all
happen on one long-lived thread. This backend records the loading thread and refuses to
generate from any other, with a clear error instead of MLX's "There is no Stream(gpu, N)".
Its tokens come from `mlx_vlm.stream_generate` (which preprocesses, prefills and samples on
MLX's own stream); the shared loop in `generation.py` does the rest, as for every local engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.inference.backend import BackendError, NotLoaded
from app.inference.chat_format import prompt_for
from app.inference.generation import LocalBackend, TokenStream
from app.inference.images import ImageSettings, prepare_image
from app.inference.model_config import Family, context_limit, end_token_ids, family_of_folder
from app.inference.model_files import default_model, resolve_model
from app.inference.qwen_inputs import budget, fit_pixels
from app.inference.types import BackendInfo, GenerationRequest, LoadProgressCallback

# Below these a request can't outgrow the context, so its tokens need not be counted first
# (counting runs the processor over every picture once more).
SHORT_TEXT_CHARS = 2000
FEW_FRAMES = 32


def mlx_available() -> bool:
    """Whether `mlx` and `mlx-vlm` import here."""
    try:
        import mlx.core  # noqa: F401
        import mlx_vlm  # noqa: F401
    except Exception:
        return False
    return True


class MLXBackend(LocalBackend):
    """SmolVLM2 via `mlx_vlm.load` and `mlx_vlm.stream_generate`."""

    def __init__(self, *, model: str | None = None, allow_download: bool = True) -> None:
        """Remember the settings; `load()` does the work on the calling thread."""
        self._model_name = model or default_model("mlx")
        self._allow_download = allow_download
        self._model: Any = None
        self._processor: Any = None
        self._image_settings: ImageSettings | None = None
        self._device = "?"
        self.folder: Path | None = None
        self.family: Family = "smolvlm2"
        self.load_thread: int | None = None

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
        self._image_settings = ImageSettings.from_folder(self.folder)
        self.family = family_of_folder(self.folder)
        self.context = context_limit(self.folder)
        tokenizer = self._processor.tokenizer
        unknown = getattr(tokenizer, "unk_token_id", None)

        def token_id(token: str) -> int | None:
            found = tokenizer.convert_tokens_to_ids(token)
            return found if isinstance(found, int) and found != unknown else None

        self.eos = end_token_ids(self.folder, token_id, also=[getattr(tokenizer, "eos_token_id", None)])
        self.load_thread = threading.get_ident()

    def _check_thread(self) -> None:
        if self._model is None:
            raise NotLoaded()
        if threading.get_ident() != self.load_thread:
            raise BackendError(
                "MLX models must be used from the thread that loaded them "
                "(MLX streams are thread-bound); run load() and stream() on one worker thread."
            )

    def _images(self, request: GenerationRequest) -> list[Any] | None:
        assert self._image_settings is not None
        if self.family == "qwen3_5":  # Qwen keeps a picture's shape within a pixel budget
            from PIL import Image

            limit = budget(split=request.split_images)
            return [Image.fromarray(fit_pixels(f, limit)) for f in request.frames] or None
        # The processor tiles images unless told otherwise; we decide per request.
        self._processor.image_processor.do_image_splitting = request.split_images
        limit = self._image_settings.limit(split=request.split_images)
        return [prepare_image(f, limit) for f in request.frames] or None

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """Prompt length in tokens, images expanded."""
        self._check_thread()
        from mlx_vlm.utils import prepare_inputs

        inputs = prepare_inputs(
            self._processor,
            images=self._images(request),
            prompts=prompt_for(self.family, request),
            image_token_index=getattr(self._model.config, "image_token_index", None),
        )
        return int(inputs["input_ids"].shape[1])

    def detokenize(self, ids: list[int]) -> str:
        """Text for generated ids, special tokens left out."""
        if self._processor is None:
            raise NotLoaded()
        return str(self._processor.tokenizer.decode(ids, skip_special_tokens=True))

    def prepare(self, request: GenerationRequest) -> TokenStream:
        """mlx-vlm's tokens for `request`; it preprocesses and prefills at the first one."""
        self._check_thread()
        known = None
        if request.text_chars > SHORT_TEXT_CHARS or len(request.frames) > FEW_FRAMES:
            known = self.count_prompt_tokens(request)  # only then can it overflow: check before the prefill
        stream = TokenStream(iter(()), prompt_tokens=known)
        stream.ids = self._tokens(request, stream)
        return stream

    def _tokens(self, request: GenerationRequest, stream: TokenStream) -> Iterator[int]:
        from mlx_vlm import stream_generate

        kwargs: dict[str, Any] = {"max_tokens": request.max_tokens, "temperature": request.temperature}
        if request.top_p < 1.0:
            kwargs["top_p"] = request.top_p
        images = self._images(request)
        for result in stream_generate(
            self._model, self._processor, prompt_for(self.family, request), image=images, **kwargs
        ):
            if stream.prompt_tokens is None:
                stream.prompt_tokens = int(result.prompt_tokens)
                if result.prompt_tps:
                    stream.prefill_s = result.prompt_tokens / result.prompt_tps
            if result.finish_reason is not None or result.token is None:
                return  # its last result repeats the final token (or holds the end-of-answer one)
            yield int(result.token)

    def peak_memory(self) -> int | None:
        """MLX's own allocator figure."""
        import mlx.core as mx

        return int(mx.get_peak_memory())

    def close(self) -> None:
        """Drop the model."""
        self._model = None
        self._processor = None
