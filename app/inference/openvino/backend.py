"""SmolVLM2 on OpenVINO: the fast CPU engine, with 8-bit weights by default.

The first load prepares the model once (`python -m app.inference.openvino`, in its own process, with progress)
into the user's cache folder, keyed by the model's files, the OpenVINO version and the weight
precision; later loads start from the cache, offline. It prepares, in this order of preference:

1. the model repository's own ONNX export (`published_onnx`): what a hub download fetches by
   default, 8-bit, about 520 MB for the 500M; read by OpenVINO, no PyTorch anywhere;
2. the PyTorch weights (`*.safetensors`), converted by tracing, when PyTorch is installed
   (`pip install 'smolsight[torch]'`): for models that publish no ONNX export.

At run time only OpenVINO, `tokenizers`, NumPy and Pillow are used (no PyTorch): inputs come
from `smolvlm_inputs`, the prompt from the same chat format as every other backend, and
generation is a short loop over the stateful decoder (its key/value cache stays inside
OpenVINO) that checks the cancel token per token.

Compute precision is the runtime's choice for the CPU (bf16 on CPUs with AVX512-BF16 or AMX,
else fp32) unless asked: `dtype="float32"` gives full-precision weights and fp32 compute, the
exact reference; `bfloat16` full-precision weights with bf16 compute; `auto`/`int8` 8-bit
weights.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from app.helpers import helper_command
from app.inference.backend import BackendError, NotLoaded, exception_line
from app.inference.generation import LocalBackend, TokenStream, sampled_tokens
from app.inference.model_config import context_limit, end_token_ids
from app.inference.model_files import (
    ModelUnavailable,
    default_model,
    looks_like_path,
    repository_files,
    resolve_model,
)
from app.inference.openvino.compiled import CheckedCache, CompiledCacheFault
from app.inference.openvino.steps import EXPORT_VERSION, MANIFEST, Weights
from app.inference.published_onnx import (
    ONNX_DIR,
    Variant,
    available_variants,
    download_patterns,
    file_names,
    find_onnx,
)
from app.inference.smolvlm_inputs import EncodedRequest, SmolVLMInputs, reference_request
from app.inference.types import BackendInfo, GenerationRequest, LoadProgress, LoadProgressCallback
from app.paths import user_cache_dir

# What `dtype` means here: (weights, compute precision hint or None for the runtime's choice).
PRECISIONS: dict[str, tuple[Weights, str | None]] = {
    "auto": ("int8", None),
    "int8": ("int8", None),
    "float32": ("fp32", "f32"),
    "bfloat16": ("fp32", "bf16"),
    "float16": ("fp32", "f16"),
}


def ways_forward() -> str:
    """What to do when the CPU engine can't use a model's files: said with every such failure.

    The PyTorch engine is offered with its install command only where it isn't installed.
    """
    pytorch = (
        "--backend transformers"
        if torch_available()
        else ("pip install 'smolsight[torch]', then --backend transformers")
    )
    return (
        f"Try another precision (--dtype float32), the PyTorch engine ({pytorch}) or a server "
        "(--backend openai --base-url URL)."
    )


class ConversionFailed(BackendError):
    """The model could not be converted for OpenVINO; the message says why."""


class DamagedModelFile(ConversionFailed):
    """One of the model's files can't be read at all; the message names it (no other way forward helps)."""


def openvino_available() -> bool:
    """Whether the OpenVINO runtime imports here."""
    try:
        import openvino  # noqa: F401
    except Exception:
        return False
    return True


# Which published ONNX precisions each weight precision can start from, best first. The
# full-precision files serve 8-bit weights too, compressed by NNCF (when it is installed).
_ONNX_PREFERENCE: dict[Weights, tuple[Variant, ...]] = {
    "int8": ("int8", "q8", "uint8", "fp32", "fp16"),
    "fp32": ("fp32", "fp16"),
}


def installed(module: str) -> bool:
    """Whether `module` can be imported here, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError, AttributeError):  # a module blocked or half-installed
        return False


def torch_available() -> bool:
    """Whether PyTorch and transformers are installed (the `torch` extra): converting needs them."""
    return installed("torch") and installed("transformers")


def usable_source(variant: Variant, weights: Weights) -> bool:
    """Whether `weights` can be prepared from `variant` here (full precision to 8 bits needs NNCF)."""
    return not (weights == "int8" and variant in ("fp32", "fp16") and not installed("nncf"))


def onnx_source(folder: Path, weights: Weights) -> Variant | None:
    """The published ONNX precision to prepare `weights` from, or None when the folder has none usable."""
    have = set(available_variants(folder))
    for variant in _ONNX_PREFERENCE[weights]:
        if variant in have and usable_source(variant, weights):
            return variant
    return None


FEATURES_KEPT = 8  # recent pictures whose image features are reused (one tile's: 240 KB)

# What the default model's files for each precision come to (docs/cpu-engine.md).
DOWNLOAD_SIZES: dict[str, str] = {"int8": "about 520 MB", "fp32": "about 2 GB"}


class NeedsPyTorch(BackendError):
    """The model has only PyTorch weights and PyTorch isn't installed; the message says what to do."""


def needs_pytorch(model: str) -> NeedsPyTorch:
    """One line: what this model lacks for the lean install, and the two ways out."""
    wanted = file_names("int8")["decoder"]
    return NeedsPyTorch(
        f"{model} has no ONNX export ({wanted} and its siblings), and converting its PyTorch weights "
        "needs PyTorch: install it with pip install 'smolsight[torch]', or choose a model that "
        f"publishes an {ONNX_DIR}/ export, such as HuggingFaceTB/SmolVLM2-500M-Video-Instruct."
    )


def cache_key(folder: Path, weights: Weights, source: Variant | None = None) -> str:
    """A folder name for the prepared model: its source files, OpenVINO's version, the precision."""
    import openvino as ov

    digest = hashlib.sha256()
    digest.update(str(folder.resolve()).encode())
    if source is None:
        files = [*folder.glob("*.safetensors"), folder / "config.json"]
    else:
        files = [*(folder / name for name in file_names(source).values()), folder / "config.json"]
    for path in sorted(files):
        if path.exists():
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update(f"{ov.get_version()}:{EXPORT_VERSION}:{weights}".encode())
    if source is not None:
        digest.update(f":onnx:{source}".encode())
    origin = f"onnx-{source}" if source else weights
    return f"{folder.name}-{origin}-{digest.hexdigest()[:12]}"


# A converter turns (model folder, output folder, weights, ONNX source or None for the PyTorch
# weights, progress) into an IR folder.
Converter = Callable[[Path, Path, Weights, Variant | None, LoadProgressCallback | None], None]


def convert_in_subprocess(
    folder: Path,
    out: Path,
    weights: Weights,
    source: Variant | None,
    progress: LoadProgressCallback | None,
) -> None:
    """Run the preparation (`python -m app.inference.openvino`) in its own process, relaying its progress.

    Started through `app.helpers`, so it works from an app bundle's launcher too.
    """
    flags = ["--model", str(folder), "--out", str(out), "--weights", weights]
    if source is not None:
        flags += ["--onnx", source]
    command = helper_command("prepare", *flags)
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    error, damaged = "", False
    # stderr goes to a file: a chatty child (tracer warnings) must never block on a full pipe.
    with (
        tempfile.TemporaryFile("w+") as log,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, env=env) as child,
    ):
        assert child.stdout is not None
        for line in child.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if "error" in event:
                error, damaged = str(event["error"]), bool(event.get("damaged"))
            elif "step" in event and progress is not None:
                message = f"Preparing the fast CPU engine (first run only): {event['message']}"
                progress(LoadProgress("convert", message, float(event["step"]), float(event["steps"])))
        code = child.wait()
        log.seek(0)
        stderr = log.read()
    if damaged:
        raise DamagedModelFile(error)
    if code != 0 or not (out / MANIFEST).exists():
        detail = error or (stderr.strip().splitlines() or [f"exit code {code}"])[-1][:300]
        what = "prepared from its ONNX files" if source else "converted"
        raise ConversionFailed(
            f"The model could not be {what} for the fast CPU engine ({detail}). {ways_forward()}"
        )


@dataclass
class _Compiled:
    vision: Any
    embed: Any
    decoder: Any  # an infer request of the stateful decoder
    beam: bool  # whether the decoder takes `beam_idx` (ours do, however prepared; an older IR might not)


class OpenVINOBackend(LocalBackend):
    """SmolVLM2 via OpenVINO on the CPU; see the module docs."""

    def __init__(
        self,
        *,
        model: str | None = None,
        dtype: str = "auto",
        allow_download: bool = True,
        cache_dir: Path | None = None,
        converter: Converter | None = None,
        prepare_from: Literal["auto", "pytorch"] = "auto",
    ) -> None:
        """Remember the settings; `load()` prepares (once) and compiles.

        `prepare_from="pytorch"` converts the PyTorch weights even where ONNX files exist (the
        bench compares the two).
        """
        if dtype not in PRECISIONS:
            raise BackendError(f"Unknown precision '{dtype}' for OpenVINO: use {', '.join(PRECISIONS)}.")
        self._model_name = model or default_model("transformers")
        self._weights, self._hint = PRECISIONS[dtype]
        self._allow_download = allow_download
        self._cache_dir = cache_dir or user_cache_dir() / "openvino"
        self._convert = converter or convert_in_subprocess
        self._prepare_from = prepare_from
        self._compiled: _Compiled | None = None
        self._features: OrderedDict[bytes, np.ndarray] = OrderedDict()  # recent pictures' features
        self._inputs: SmolVLMInputs | None = None
        self._compute = "?"
        self.folder: Path | None = None
        self.source: Variant | None = None  # the ONNX precision prepared from; None: PyTorch weights
        self.ir_folder: Path | None = None
        self.converted = False  # whether this load had to convert
        self.from_cache = False  # whether the decoder came from OpenVINO's compiled cache (checked)

    @property
    def info(self) -> BackendInfo:
        """Backend, model, device and precision (weights/compute)."""
        return BackendInfo("openvino", self._model_name, "CPU", f"{self._weights}/{self._compute}")

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Find (or make, once) the prepared model, then compile it for the CPU."""
        self._features.clear()
        self.folder, self.source = self._model_files(progress)
        self.ir_folder = self._cache_dir / cache_key(self.folder, self._weights, self.source)
        if not (self.ir_folder / MANIFEST).exists():
            self.converted = True
            self._convert(self.folder, self.ir_folder, self._weights, self.source, progress)
        if progress is not None:
            progress(LoadProgress("load", "Loading the model…"))
        self._inputs = SmolVLMInputs(self.folder)
        self._check_reference(self._inputs, self.ir_folder)
        self._compiled = self._compile(self.ir_folder)
        self.eos = end_token_ids(self.folder, self._inputs.tokenizer.token_to_id)
        self.context = context_limit(self.folder)

    def download(self, progress: LoadProgressCallback | None = None) -> Path:
        """Fetch what this engine needs into the cache (nothing when it is there); its folder."""
        return self._model_files(progress)[0]

    def _model_files(self, progress: LoadProgressCallback | None) -> tuple[Path, Variant | None]:
        """The model folder and what to prepare from: a published ONNX precision, or None (PyTorch).

        A hub download fetches only one precision of the ONNX export and the processor files;
        the PyTorch weights only when the repository publishes no ONNX export and PyTorch is
        installed to convert them.
        """
        if self._prepare_from == "pytorch":
            if not torch_available():
                raise needs_pytorch(self._model_name)
            return resolve_model(
                self._model_name, allow_download=self._allow_download, progress=progress
            ), None
        variant = self._hub_variant(self._model_name)

        def has_onnx(folder: Path) -> bool:
            return find_onnx(folder, variant) is not None

        name = self._model_name
        try:
            folder = resolve_model(
                name,
                allow_download=self._allow_download,
                progress=progress,
                patterns=download_patterns(variant),
                complete=has_onnx,
            )
        except ModelUnavailable as exc:
            if not exc.incomplete:
                exc.download_size = DOWNLOAD_SIZES.get(variant, "")
                raise
            if not torch_available():
                raise needs_pytorch(name) from exc
            folder = resolve_model(name, allow_download=self._allow_download, progress=progress)
        source = onnx_source(folder, self._weights)
        if source is not None:
            return folder, source
        if not any(folder.glob("*.safetensors")):
            raise ModelUnavailable(
                f"{folder} has neither an ONNX export ({ONNX_DIR}/) nor PyTorch weights (*.safetensors)."
            )
        if not torch_available():
            raise needs_pytorch(str(folder))
        return folder, None

    def _hub_variant(self, model: str) -> Variant:
        """Which precision of a hub repository's ONNX export to use.

        One already downloaded, else the best one the repository lists (SmolVLM2-500M-Video-Instruct,
        for one, was seen with `_uint8` and `_quantized` decoders but no `_int8`); the first choice
        when the hub can't be asked (the download then says what is missing).
        """
        choices = [v for v in _ONNX_PREFERENCE[self._weights] if usable_source(v, self._weights)]
        if looks_like_path(model):
            return choices[0]
        for variant in choices:
            try:
                resolve_model(
                    model,
                    allow_download=False,
                    patterns=download_patterns(variant),
                    complete=lambda folder, v=variant: find_onnx(folder, v) is not None,  # type: ignore[misc]
                )
            except ModelUnavailable:
                continue
            return variant
        # Only a download may ask the hub: a look in the cache (`allow_download=False`) never does.
        listed = repository_files(model) if self._allow_download else None
        if listed is not None:
            names = set(listed)
            for variant in choices:
                if set(file_names(variant).values()) <= names:
                    return variant
        return choices[0]

    def _compile(
        self, ir: Path, options: dict[str, str] | None = None, *, vision_model: Any = None
    ) -> _Compiled:
        """Compile the prepared model for the CPU, through the checked compiled cache (`compiled`)."""
        import openvino as ov

        core = ov.Core()
        config: dict[str, str] = {"PERFORMANCE_HINT": "LATENCY"}
        if self._hint is not None:
            config["INFERENCE_PRECISION_HINT"] = self._hint
        config.update(options or {})

        def build(parts: Mapping[str, str], decoder: Mapping[str, str]) -> tuple[Any, Any, Any]:
            source = ir / "vision.xml" if vision_model is None else vision_model
            return (
                core.compile_model(source, "CPU", dict(parts)),
                core.compile_model(ir / "embed.xml", "CPU", dict(parts)),
                core.compile_model(ir / "decoder.xml", "CPU", dict(decoder)),
            )

        try:
            done = CheckedCache(ir, config).compile(build)
        except CompiledCacheFault as exc:
            raise BackendError(
                f"OpenVINO computes this model wrongly here ({exc}). {ways_forward()}"
            ) from exc
        except RuntimeError as exc:  # OpenVINO's words, in one line (its first lines name its sources)
            raise BackendError(
                f"OpenVINO could not load the prepared model in {ir}: {exception_line(exc)}"
            ) from exc
        hint = done.decoder.get_property("INFERENCE_PRECISION_HINT")  # what the runtime chose for this CPU
        name = hint.to_string() if hasattr(hint, "to_string") else str(hint)
        self._compute = {"f32": "fp32", "bf16": "bf16", "f16": "fp16"}.get(name, name)
        self.from_cache = done.cached
        beam = any("beam_idx" in port.get_names() for port in done.decoder.inputs)
        return _Compiled(done.vision, done.embed, done.decoder.create_infer_request(), beam)

    @staticmethod
    def _check_reference(inputs: SmolVLMInputs, ir: Path) -> None:
        """Our torch-free preprocessing must agree with transformers' on this very model."""
        path = ir / "reference.json"
        if not path.exists():
            return
        reference = json.loads(path.read_text())
        ours = inputs.encode(reference_request())
        pixels = np.asarray(ours.pixel_values, dtype=np.float64)
        same_tokens = [int(i) for i in ours.input_ids[0]] == reference["input_ids"]
        same_pixels = abs(float(pixels.mean()) - reference["pixel_mean"]) < 1e-4
        if not (same_tokens and same_pixels):
            raise ConversionFailed(
                "This model's processor files ask for preprocessing the fast CPU engine does not "
                f"reproduce ({'tokens' if not same_tokens else 'pixels'} differ)."
            )

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """Prompt length in tokens, images expanded."""
        if self._inputs is None:
            raise NotLoaded()
        return int(self._inputs.encode(request, pixels=False).input_ids.shape[1])

    def detokenize(self, ids: list[int]) -> str:
        """Text for generated ids, special tokens left out."""
        if self._inputs is None:
            raise NotLoaded()
        return self._inputs.decode(ids)

    def _image_features(self, compiled: _Compiled, pixels: np.ndarray) -> tuple[np.ndarray, float]:
        """The vision encoder's features for `pixels`, and the seconds it took (0: reused).

        A picture seen moments ago (a question about the frame just described, a second
        describe of a still scene, a follow-up) is not encoded again: the last few pictures'
        features are kept, keyed by their pixels' digest.
        """
        key = hashlib.blake2b(pixels.tobytes(), digest_size=16).digest()
        cached = self._features.get(key)
        if cached is not None:
            self._features.move_to_end(key)
            return cached, 0.0
        started = time.perf_counter()
        features = np.asarray(compiled.vision(pixels)[0], dtype=np.float32)
        spent = time.perf_counter() - started
        self._features[key] = features
        while len(self._features) > FEATURES_KEPT:
            self._features.popitem(last=False)
        return features, spent

    def _prefill_embeddings(self, compiled: _Compiled, encoded: EncodedRequest) -> tuple[np.ndarray, float]:
        embeds = np.array(compiled.embed(encoded.input_ids)[0], dtype=np.float32)
        vision_s = 0.0
        if encoded.pixel_values is not None:
            assert self._inputs is not None
            features, vision_s = self._image_features(compiled, encoded.pixel_values)
            slots = encoded.input_ids[0] == self._inputs.image_token_id
            features = features.reshape(-1, features.shape[-1])
            if int(slots.sum()) != features.shape[0]:
                raise BackendError("The image placeholders do not match the image features.")
            embeds[0, slots] = features
        return embeds, vision_s

    @staticmethod
    def _decode(compiled: _Compiled, embeds: np.ndarray, positions: np.ndarray, length: int) -> np.ndarray:
        """Run the stateful decoder over `embeds`; the last position's logits."""
        decoder = compiled.decoder
        inputs = {
            "inputs_embeds": embeds,
            "attention_mask": np.ones((1, length), dtype=np.int64),
            "position_ids": positions,
        }
        if compiled.beam:
            inputs["beam_idx"] = np.zeros(1, dtype=np.int32)
        decoder.infer(inputs)
        return np.asarray(decoder.get_tensor("logits").data[0, -1])

    def _loaded(self) -> tuple[_Compiled, SmolVLMInputs]:
        if self._compiled is None or self._inputs is None:
            raise NotLoaded()
        return self._compiled, self._inputs

    def _prefill(self, compiled: _Compiled, encoded: EncodedRequest) -> tuple[np.ndarray, float]:
        """A fresh cache filled with the whole prompt: the next token's logits, the vision seconds."""
        compiled.decoder.reset_state()
        embeds, vision_s = self._prefill_embeddings(compiled, encoded)
        length = int(encoded.input_ids.shape[1])
        return self._decode(compiled, embeds, np.arange(length, dtype=np.int64)[None], length), vision_s

    def prepare(self, request: GenerationRequest) -> TokenStream:
        """Encode the request; its tokens come from the stateful decoder, its cache inside OpenVINO."""
        compiled, inputs = self._loaded()
        encoded = inputs.encode(request)
        length = int(encoded.input_ids.shape[1])

        def prefill() -> np.ndarray:
            logits, stream.vision_s = self._prefill(compiled, encoded)
            return logits

        def step(token: int) -> np.ndarray:
            nonlocal length
            length += 1
            embeds = np.asarray(compiled.embed(np.array([[token]], dtype=np.int64))[0])
            return self._decode(compiled, embeds, np.array([[length - 1]], dtype=np.int64), length)

        stream = TokenStream(iter(()), prompt_tokens=length)
        stream.ids = sampled_tokens(prefill, step, request)
        return stream

    def first_token_logits(self, request: GenerationRequest) -> np.ndarray:
        """The logits of the answer's first token (float32, vocabulary-sized): for precision checks."""
        compiled, inputs = self._loaded()
        logits, _ = self._prefill(compiled, inputs.encode(request))
        return np.array(logits, dtype=np.float32)

    def image_features(self, request: GenerationRequest) -> np.ndarray:
        """The vision encoder's features for the request's pictures (not the kept ones): for checks."""
        compiled, inputs = self._loaded()
        pixels = inputs.encode(request).pixel_values
        if pixels is None:
            raise BackendError("Image features need a request with a picture.")
        return np.array(compiled.vision(pixels)[0], dtype=np.float32)

    def recompile(self, options: dict[str, str], *, vision: object | None = None) -> None:
        """Compile the prepared model again with OpenVINO CPU `options` added (precision studies).

        `vision`: an `openvino.Model` to use as the vision encoder instead of the prepared one.
        """
        if self.ir_folder is None:
            raise NotLoaded()
        self._features.clear()
        self._compiled = self._compile(self.ir_folder, options, vision_model=vision)

    def close(self) -> None:
        """Release the compiled model."""
        self._compiled = None
        self._features.clear()
