"""SmolVLM2 through transformers/PyTorch on CPU, CUDA or Apple's MPS.

Generation is our own short loop over the model with a KV cache, rather than `generate()`:
it streams without a helper thread (the worker thread that loaded the model runs every
token), checks the cancel token after every token, and times prefill and decode exactly.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers.processing_utils import ProcessorMixin

from app.inference.base import (
    BackendError,
    StatsClock,
    StopMatcher,
    check_context,
    prepare_image,
    process_peak_rss_bytes,
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


def pick_device(requested: str = "auto") -> str:
    """`cuda` or `mps` when present, else `cpu`; an explicit choice is checked."""
    import torch

    if requested not in {"auto", "cpu", "cuda", "mps"}:
        raise BackendError(f"Unknown device '{requested}': use auto, cpu, cuda or mps.")
    if requested == "cuda" and not torch.cuda.is_available():
        raise BackendError("Device 'cuda' was asked for, but PyTorch sees no CUDA GPU.")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise BackendError("Device 'mps' was asked for, but this machine has no MPS device.")
    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, requested: str = "auto") -> torch.dtype:
    """The dtype for `device`, decided from the device, never by a timing probe.

    bf16 on CUDA GPUs that support it (else fp16), fp16 on MPS, fp32 on CPUs: this backend
    is the reference there (the OpenVINO backend is the fast CPU path), and fp32 is exact and
    runs at full speed on every CPU, while bf16 is fast on some CPUs and a slow fallback on
    others. `--dtype bfloat16` asks for it explicitly.
    """
    import torch

    names = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if requested != "auto":
        if requested not in names:
            raise BackendError(f"Unknown dtype '{requested}': use auto, float32, bfloat16 or float16.")
        return names[requested]
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


class TransformersBackend:
    """SmolVLM2 via `AutoProcessor` + `AutoModelForImageTextToText`."""

    def __init__(
        self,
        *,
        model: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        allow_download: bool = True,
        threads: int | None = None,
    ) -> None:
        """Remember the settings; nothing heavy happens until `load()`."""
        self._model_name = model or default_model("transformers")
        self._device_request = device
        self._dtype_request = dtype
        self._allow_download = allow_download
        self._threads = threads
        self._model: Any = None
        self._processor: Any = None
        self._device = "cpu"
        self._dtype: Any = None
        self._eos_ids: set[int] = set()
        self._cache_kw = "past_key_values"
        self.folder: Path | None = None
        self._context = 8192

    @property
    def info(self) -> BackendInfo:
        """Backend, model, device and dtype."""
        dtype = str(self._dtype).replace("torch.", "") if self._dtype is not None else "?"
        return BackendInfo("transformers", self._model_name, self._device, dtype)

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Resolve the model folder (downloading once if needed) and load it on the device."""
        import torch
        from transformers import AutoModelForImageTextToText
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if self._threads:
            torch.set_num_threads(self._threads)
        self.folder = resolve_model(self._model_name, allow_download=self._allow_download, progress=progress)
        self._device = pick_device(self._device_request)
        self._dtype = pick_dtype(self._device, self._dtype_request)
        try:
            self._processor = load_processor(self.folder)
            model = AutoModelForImageTextToText.from_pretrained(self.folder, dtype=self._dtype)
        except (OSError, ValueError, KeyError) as exc:
            raise BackendError(f"Could not load the model from {self.folder}: {exc}") from exc
        model.to(self._device)
        model.eval()
        self._model = model
        self._context = context_limit(self.folder)
        # transformers 5.2x renamed `past_key_values` to `cache` (the old name still works,
        # with a warning); use whichever this version's forward() takes.
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        tok = self._processor.tokenizer
        eos = model.generation_config.eos_token_id
        eos_list = eos if isinstance(eos, list) else [eos]
        self._eos_ids = {int(e) for e in eos_list if e is not None}
        eou = tok.convert_tokens_to_ids("<end_of_utterance>")
        if isinstance(eou, int) and eou != tok.unk_token_id:
            self._eos_ids.add(eou)

    def warm_up(self) -> None:
        """One tiny generation so kernels and allocator are ready."""
        for _ in self.stream(warm_up_request()):
            pass

    def _inputs(self, request: GenerationRequest) -> Any:
        """Tokenized prompt and pixel values for `request`."""
        if self._processor is None:
            raise BackendError("The model is not loaded yet.")
        prompt = render_prompt(request)
        kwargs: dict[str, Any] = {"text": [prompt], "return_tensors": "pt"}
        if request.frames:
            kwargs["images"] = [[prepare_image(f, split=request.split_images) for f in request.frames]]
            kwargs["do_image_splitting"] = request.split_images
        return self._processor(**kwargs)

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """Prompt length in tokens, images expanded."""
        return int(self._inputs(request)["input_ids"].shape[1])

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        """Prefill once, then decode token by token, yielding decoded text as it grows."""
        import torch

        if self._model is None:
            raise BackendError("The model is not loaded yet.")
        clock = StatsClock()
        inputs = self._inputs(request)
        clock.preprocessed(int(inputs["input_ids"].shape[1]))
        check_context(request, clock.prompt_tokens, self._context)
        if cancel is not None and cancel.cancelled:
            yield GenerationChunk("", clock.stats(finish="cancelled"))
            return
        inputs = {k: v.to(self._device) for k, v in inputs.items()}
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self._dtype)
        tok = self._processor.tokenizer
        stops = StopMatcher(request.stop)
        generated: list[int] = []
        emitted = ""
        finish: FinishReason = "length"
        generator = torch.Generator(device="cpu").manual_seed(0) if request.temperature > 0 else None
        with torch.inference_mode():
            out = self._model(**inputs, use_cache=True)
            cache = getattr(out, self._cache_kw)
            logits = out.logits[:, -1, :]
            mask = inputs.get("attention_mask")
            for _ in range(request.max_tokens):
                if cancel is not None and cancel.cancelled:
                    finish = "cancelled"
                    break
                token = _sample(logits, request.temperature, request.top_p, generator)
                if token in self._eos_ids:
                    finish = "stop"
                    break
                clock.token()
                generated.append(token)
                text = tok.decode(generated, skip_special_tokens=True)
                # Emit only complete characters: a multi-byte character may span tokens.
                if not text.endswith("\ufffd"):
                    piece, hit = stops.feed(text[len(emitted) :])
                    emitted = text
                    if piece:
                        yield GenerationChunk(piece, clock.stats())
                    if hit:
                        finish = "stop"
                        break
                if len(generated) == request.max_tokens:
                    break
                step = torch.tensor([[token]], device=self._device)
                if mask is not None:
                    mask = torch.cat([mask, mask.new_ones((1, 1))], dim=1)
                out = self._model(
                    input_ids=step, attention_mask=mask, use_cache=True, **{self._cache_kw: cache}
                )
                cache = getattr(out, self._cache_kw)
                logits = out.logits[:, -1, :]
        tail = stops.flush() if finish != "stop" else ""
        yield GenerationChunk(tail, clock.stats(finish=finish, peak=self._peak_memory()))

    def _peak_memory(self) -> int | None:
        import torch

        if self._device == "cuda":
            return int(torch.cuda.max_memory_allocated())
        return process_peak_rss_bytes()

    def close(self) -> None:
        """Drop the model so its memory can be freed."""
        self._model = None
        self._processor = None


def load_processor(folder: Path) -> ProcessorMixin:
    """The model's processor, with transformers' PIL image processor for SmolVLM folders.

    The PIL image processor resizes with LANCZOS exactly as the model was trained (the default
    torchvision one approximates it), and it is what the torch-free CPU path reproduces, so
    both backends see the same pixels. mlx-vlm replaces `AutoProcessor.from_pretrained`
    process-wide once imported; naming the SmolVLM classes keeps this working beside it.
    """
    import json

    from transformers import AutoProcessor

    try:
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
    except (OSError, ValueError):
        model_type = None
    if model_type != "smolvlm":
        return AutoProcessor.from_pretrained(folder)
    from transformers import SmolVLMProcessor
    from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil

    processor = SmolVLMProcessor.from_pretrained(folder)
    processor.image_processor = SmolVLMImageProcessorPil.from_pretrained(folder)
    return processor


def _sample(logits: Any, temperature: float, top_p: float, generator: Any) -> int:
    """Greedy at temperature 0, else temperature + nucleus sampling."""
    import torch

    if temperature <= 0:
        return int(torch.argmax(logits, dim=-1).item())
    probs = torch.softmax(logits.float() / temperature, dim=-1)[0]
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_probs, 0) - sorted_probs < top_p
        sorted_probs = sorted_probs * keep
        choice = torch.multinomial(sorted_probs.cpu() / sorted_probs.sum().cpu(), 1, generator=generator)
        return int(order[int(choice.item())].item())
    return int(torch.multinomial(probs.cpu(), 1, generator=generator).item())
