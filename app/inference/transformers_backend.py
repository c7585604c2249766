"""SmolVLM2 and Qwen3.5 through transformers/PyTorch on CPU, CUDA or Apple's MPS.

Generation is the shared loop (`generation.py`) over a prefill and a step of the model with
its key/value cache, rather than `generate()`: it streams without a helper thread (the model
thread runs every token), checks the cancel token before every step, and times prefill and
decode exactly.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from transformers.processing_utils import ProcessorMixin

from app.inference.backend import BackendError, NotLoaded
from app.inference.chat_format import prompt_for
from app.inference.generation import LocalBackend, TokenStream, process_peak_rss_bytes, sampled_tokens
from app.inference.images import ImageSettings, prepare_image
from app.inference.model_config import Family, context_limit, end_token_ids, family_of_folder, read_config
from app.inference.model_files import default_model, resolve_model
from app.inference.qwen_inputs import budget, fit_pixels
from app.inference.types import BackendInfo, GenerationRequest, LoadProgressCallback


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


class TransformersBackend(LocalBackend):
    """SmolVLM2 or Qwen3.5 via `AutoProcessor` + `AutoModelForImageTextToText`."""

    def __init__(
        self,
        *,
        model: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        allow_download: bool = True,
    ) -> None:
        """Remember the settings; nothing heavy happens until `load()`."""
        self._model_name = model or default_model("transformers")
        self._device_request = device
        self._dtype_request = dtype
        self._allow_download = allow_download
        self._model: Any = None
        self._processor: Any = None
        self._device = "cpu"
        self._dtype: Any = None
        self._cache_kw = "past_key_values"
        self._images: ImageSettings | None = None
        self.folder: Path | None = None
        self.family: Family = "smolvlm2"

    @property
    def info(self) -> BackendInfo:
        """Backend, model, device and dtype."""
        dtype = str(self._dtype).replace("torch.", "") if self._dtype is not None else "?"
        return BackendInfo("transformers", self._model_name, self._device, dtype)

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Resolve the model folder (downloading once if needed) and load it on the device."""
        from transformers import AutoModelForImageTextToText
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
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
        self._images = ImageSettings.from_folder(self.folder)
        self.family = family_of_folder(self.folder)
        self.context = context_limit(self.folder)
        # transformers 5.2x renamed `past_key_values` to `cache` (the old name still works,
        # with a warning); use whichever this version's forward() takes.
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        tok = self._processor.tokenizer

        def token_id(token: str) -> int | None:
            found = tok.convert_tokens_to_ids(token)
            return found if isinstance(found, int) and found != tok.unk_token_id else None

        self.eos = end_token_ids(self.folder, token_id, also=[model.generation_config.eos_token_id])

    def _inputs(self, request: GenerationRequest) -> Any:
        """Tokenized prompt and pixel values for `request`."""
        if self._processor is None or self._images is None:
            raise NotLoaded()
        prompt = prompt_for(self.family, request)
        kwargs: dict[str, Any] = {"text": [prompt], "return_tensors": "pt"}
        if request.frames and self.family == "qwen3_5":
            from PIL import Image

            limit = budget(split=request.split_images)
            kwargs["images"] = [Image.fromarray(fit_pixels(f, limit)) for f in request.frames]
        elif request.frames:
            limit = self._images.limit(split=request.split_images)
            kwargs["images"] = [[prepare_image(f, limit) for f in request.frames]]
            kwargs["do_image_splitting"] = request.split_images
        return self._processor(**kwargs)

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """Prompt length in tokens, images expanded."""
        return int(self._inputs(request)["input_ids"].shape[1])

    def detokenize(self, ids: list[int]) -> str:
        """Text for generated ids, special tokens left out."""
        if self._processor is None:
            raise NotLoaded()
        return str(self._processor.tokenizer.decode(ids, skip_special_tokens=True))

    def prepare(self, request: GenerationRequest) -> TokenStream:
        """Tokenize and preprocess; its tokens come from the model with a key/value cache."""
        import torch

        if self._model is None:
            raise NotLoaded()
        inputs = self._inputs(request)
        prompt_tokens = int(inputs["input_ids"].shape[1])
        inputs = {k: v.to(self._device) for k, v in inputs.items()}
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self._dtype)
        model, device, cache_kw = self._model, self._device, self._cache_kw
        # Qwen3.5 works out a new token's 3-D rotary position from its cache only without a mask
        # (with one it reads the whole mask as the new tokens' positions); one answer has no padding.
        mask = None if self.family == "qwen3_5" else inputs.get("attention_mask")
        cache: Any = None

        def last_logits(out: Any) -> np.ndarray:
            nonlocal cache
            cache = getattr(out, cache_kw)
            return np.asarray(out.logits[0, -1].float().cpu().numpy())

        def prefill() -> np.ndarray:
            inner = getattr(model, "model", None)
            if getattr(inner, "rope_deltas", None) is not None:
                # Qwen keeps the last prompt's rotary offset for its next tokens: a fresh prompt
                # starts without it (a text-only one would otherwise take a picture's).
                inner.rope_deltas = None  # type: ignore[union-attr]
            with torch.inference_mode():
                return last_logits(model(**inputs, use_cache=True))

        def step(token: int) -> np.ndarray:
            nonlocal mask
            if mask is not None:
                mask = torch.cat([mask, mask.new_ones((1, 1))], dim=1)
            with torch.inference_mode():
                ids = torch.tensor([[token]], device=device)
                return last_logits(
                    model(input_ids=ids, attention_mask=mask, use_cache=True, **{cache_kw: cache})
                )

        return TokenStream(sampled_tokens(prefill, step, request), prompt_tokens=prompt_tokens)

    def peak_memory(self) -> int | None:
        """CUDA's own peak figure on a GPU, else the process's."""
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
    from transformers import AutoProcessor

    model_type = read_config(folder).get("model_type")
    if str(model_type or "").startswith("qwen3_5"):
        from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor

        return Qwen3VLProcessor.from_pretrained(folder)
    if model_type != "smolvlm":
        return AutoProcessor.from_pretrained(folder)
    from transformers import SmolVLMProcessor
    from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil

    processor = SmolVLMProcessor.from_pretrained(folder)
    processor.image_processor = SmolVLMImageProcessorPil.from_pretrained(folder)
    return processor
