"""Qwen3.5 on the CPU without PyTorch: openvino-genai's `VLMPipeline` on OpenVINO's own export.

The model's repository (`OpenVINO/Qwen3.5-0.8B-int4-ov`, or a folder `optimum-cli export
openvino` wrote) holds the IR files, the tokenizer as OpenVINO models and the processor
settings; the pipeline does the preprocessing, the vision encoder, the hybrid decoder's state
and the sampling. This backend fits it into the shared generation loop (`LocalBackend`): the
prompt is ours (`render_qwen_prompt`, with the pipeline's picture tags, its own chat template
off), and the pipeline's tokens come through a streamer on a helper thread, so the loop keeps
doing what it does for every engine (end-of-answer tokens, the budget, stop strings, cancel
before every token). Stopping early tells the streamer to cancel: the pipeline ends at its
next token and the helper thread is joined before `stream()` returns.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from app.inference.backend import BackendError, NotLoaded, exception_line
from app.inference.chat_format import QWEN_IMAGE, genai_image_tag, render_qwen_prompt
from app.inference.generation import LocalBackend, TokenStream
from app.inference.model_config import context_limit, end_token_ids
from app.inference.model_files import ModelUnavailable, resolve_model
from app.inference.qwen_inputs import QwenVision, budget, fit_pixels
from app.inference.types import BackendInfo, GenerationRequest, LoadProgress, LoadProgressCallback

LANGUAGE_MODEL = "openvino_language_model.xml"  # what makes a folder an OpenVINO GenAI export
_DONE = object()

# dtype → the CPU's compute precision (None: the runtime's choice: bf16 where the CPU has it)
_HINTS: dict[str, str | None] = {
    "auto": None,
    "int8": None,
    "float32": "f32",
    "bfloat16": "bf16",
    "float16": "f16",
}
_NAMES = {"f32": "fp32", "bf16": "bf16", "f16": "fp16"}


def genai_available() -> bool:
    """Whether openvino-genai imports here."""
    try:
        import openvino_genai  # noqa: F401
    except Exception:
        return False
    return True


def has_export(folder: Path) -> bool:
    """Whether `folder` holds an OpenVINO GenAI export of a vision-language model."""
    return (folder / LANGUAGE_MODEL).is_file() and (folder / "openvino_tokenizer.xml").is_file()


class GenAIBackend(LocalBackend):
    """Qwen3.5 via `openvino_genai.VLMPipeline` on the CPU; see the module docs."""

    def __init__(self, *, model: str, dtype: str = "auto", allow_download: bool = True) -> None:
        """Remember the settings; `load()` finds (or downloads) the export and compiles it."""
        if dtype not in _HINTS:
            raise BackendError(f"Unknown precision '{dtype}' for OpenVINO: use {', '.join(_HINTS)}.")
        self._model_name = model
        self._hint = _HINTS[dtype]
        self._allow_download = allow_download
        self._pipe: Any = None
        self._tokenizer: Any = None  # the pipeline's, fetched once at load
        self._vision = QwenVision()
        self._compute = "?"
        self._weights = "?"
        self.folder: Path | None = None
        self.source = "genai"  # what it runs from, for the bench: OpenVINO's export, as published

    @property
    def info(self) -> BackendInfo:
        """Backend, model, device and precision (weights/compute)."""
        return BackendInfo("openvino", self._model_name, "CPU", f"{self._weights}/{self._compute}")

    def download(self, progress: LoadProgressCallback | None = None) -> Path:
        """Fetch the export into the cache (nothing when it is there); its folder."""
        try:
            folder = resolve_model(
                self._model_name, allow_download=self._allow_download, progress=progress, complete=has_export
            )
        except ModelUnavailable as exc:
            if exc.incomplete:
                raise self._no_export() from exc
            raise
        if not has_export(folder):
            raise self._no_export()
        return folder

    def _no_export(self) -> ModelUnavailable:
        return ModelUnavailable(
            f"{self._model_name} has no OpenVINO export ({LANGUAGE_MODEL} and its tokenizer), which the "
            "CPU engine needs for Qwen3.5: use qwen3.5-0.8b (OpenVINO/Qwen3.5-0.8B-int4-ov), or export "
            "the model with optimum-cli export openvino.",
            missing=False,
        )

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Find the export, then compile it for the CPU."""
        if not genai_available():
            raise BackendError(
                "Qwen3.5 on the CPU needs openvino-genai (pip install openvino-genai openvino-tokenizers)."
            )
        import openvino_genai

        self.folder = self.download(progress)
        if progress is not None:
            progress(LoadProgress("load", "Loading the model…"))
        config: dict[str, str] = {"PERFORMANCE_HINT": "LATENCY", "CACHE_DIR": str(self._compiled_cache())}
        if self._hint is not None:
            config["INFERENCE_PRECISION_HINT"] = self._hint
        try:
            self._pipe = openvino_genai.VLMPipeline(str(self.folder), "CPU", **config)
        except Exception as exc:  # the runtime says RuntimeError with its source file first
            raise BackendError(
                f"OpenVINO GenAI could not load {self._model_name}: {exception_line(exc)}"
            ) from exc
        self._vision = QwenVision.from_folder(self.folder)
        self._tokenizer = self._pipe.get_tokenizer()  # once: it is asked on every token
        self.eos = end_token_ids(self.folder, dict(self._tokenizer.get_vocab()).get)
        self.context = context_limit(self.folder)
        self._weights = self._weight_precision(self.folder)
        self._compute = _NAMES.get(self._hint or "") or self._cpu_precision()

    def _compiled_cache(self) -> Path:
        """Where OpenVINO keeps the compiled model between starts (the first start compiles)."""
        from app.paths import user_cache_dir

        assert self.folder is not None
        digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:12]
        return user_cache_dir() / "openvino-genai" / f"{self.folder.name}-{digest}"

    @staticmethod
    def _cpu_precision() -> str:
        import openvino as ov

        hint = ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT")
        name = hint.to_string() if hasattr(hint, "to_string") else str(hint)
        return _NAMES.get(name, name)

    @staticmethod
    def _weight_precision(folder: Path) -> str:
        """What the language model's weights are stored as (int4, int8, fp16 or fp32), from its IR."""
        try:
            text = (folder / LANGUAGE_MODEL).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "?"
        for kinds, name in ((("u4", "i4", "nf4"), "int4"), (("u8", "i8"), "int8"), (("f16",), "fp16")):
            if any(f'element_type="{kind}"' in text for kind in kinds):
                return name
        return "fp32"

    def _loaded(self) -> Any:
        if self._pipe is None:
            raise NotLoaded()
        return self._pipe

    def _fitted(self, request: GenerationRequest) -> list[np.ndarray]:
        """The request's pictures as handed over: RGB, within the budget for the request."""
        limit = budget(split=request.split_images)
        return [fit_pixels(frame, limit) for frame in request.frames]

    def _count(self, request: GenerationRequest, pictures: list[np.ndarray]) -> int:
        self._loaded()
        tokenizer = self._tokenizer
        text = render_qwen_prompt(request, lambda _i: QWEN_IMAGE)
        ids = tokenizer.encode(text, add_special_tokens=False).input_ids.data
        # the one pad each picture has in the text becomes its tokens
        extra = sum(self._vision.image_tokens(*picture.shape[:2]) - 1 for picture in pictures)
        return int(ids.shape[-1]) + extra

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """Prompt length in tokens, each picture counted as the processor will resize it."""
        return self._count(request, self._fitted(request))

    def detokenize(self, ids: list[int]) -> str:
        """Text for generated ids, special tokens left out."""
        self._loaded()
        return str(self._tokenizer.decode(ids, skip_special_tokens=True))

    def prepare(self, request: GenerationRequest) -> TokenStream:
        """The pipeline's tokens for `request`, produced on a helper thread (see the module docs)."""
        import openvino as ov

        pipe = self._loaded()
        pictures = self._fitted(request)
        stream = TokenStream(iter(()), prompt_tokens=self._count(request, pictures))
        tensors = [ov.Tensor(picture[None]) for picture in pictures]
        stream.ids = self._tokens(
            pipe, render_qwen_prompt(request, genai_image_tag), tensors, request, stream
        )
        return stream

    def _config(self, request: GenerationRequest) -> Any:
        import openvino_genai

        config = openvino_genai.GenerationConfig()
        config.max_new_tokens = request.max_tokens + 1  # the shared loop ends at the budget, first
        config.apply_chat_template = False  # the prompt is already Qwen's chat text
        if request.temperature > 0:
            config.do_sample = True
            config.temperature = request.temperature
            config.top_p = request.top_p
            config.rng_seed = 0  # repeatable, as the other engines' samplers
        else:
            config.do_sample = False
        return config

    def _tokens(
        self, pipe: Any, prompt: str, pictures: list[Any], request: GenerationRequest, stream: TokenStream
    ) -> Iterator[int]:
        import openvino_genai

        tokens: queue.Queue[object] = queue.Queue()
        stop = threading.Event()

        class Streamer(openvino_genai.StreamerBase):  # type: ignore[misc]
            def write(self, token: int | list[int]) -> Any:
                for t in token if isinstance(token, list) else [token]:
                    tokens.put(int(t))
                status = openvino_genai.StreamingStatus
                return status.CANCEL if stop.is_set() else status.RUNNING

            def end(self) -> None:
                pass

        def produce() -> None:
            try:
                config = self._config(request)
                pipe.generate(prompt, images=pictures, generation_config=config, streamer=Streamer())
            except Exception as exc:
                tokens.put(BackendError(f"OpenVINO GenAI failed: {exception_line(exc)}"))
            finally:
                tokens.put(_DONE)

        started = time.perf_counter()
        worker = threading.Thread(target=produce, name="smolsight-genai", daemon=True)
        worker.start()
        try:
            while True:
                item = tokens.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                if stream.prefill_s is None:
                    stream.prefill_s = time.perf_counter() - started
                assert isinstance(item, int)
                yield item
        finally:
            stop.set()  # the pipeline cancels at its next token
            worker.join()

    def close(self) -> None:
        """Release the pipeline."""
        self._pipe = None
        self._tokenizer = None
