"""Typed settings → a backend: the one place that chooses and builds an inference engine.

`auto` picks MLX on Apple Silicon, transformers (PyTorch) where an NVIDIA GPU is present or
a GPU device is asked for, and OpenVINO on every other machine: the CPU path. If the model
can't be converted for OpenVINO there, the app says so in one sentence and runs on
transformers instead (`FallbackBackend`).
"""

from __future__ import annotations

import ctypes.util
import platform
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import get_args

from app.config import BackendName, EngineSettings
from app.inference.backend import BackendError, VisionBackend
from app.inference.catalog import family_of, find, source_for, unknown_name
from app.inference.mlx_backend import mlx_available
from app.inference.model_files import is_unknown_name
from app.inference.model_files import why_not_loadable as why_folder_or_id_not_loadable
from app.inference.model_thread import BackendFactory
from app.inference.types import (
    BackendInfo,
    CancelToken,
    GenerationChunk,
    GenerationRequest,
    LoadProgress,
    LoadProgressCallback,
)

BACKENDS: tuple[BackendName, ...] = get_args(BackendName)


def is_apple_silicon() -> bool:
    """Whether this is macOS on an arm64 Mac."""
    return sys.platform == "darwin" and platform.machine() == "arm64"


def nvidia_gpu_present() -> bool:
    """Whether an NVIDIA driver is installed (cheap: PyTorch is not imported to find out)."""
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists()
    if sys.platform == "win32":
        return ctypes.util.find_library("nvcuda") is not None
    return False


def choose_backend(requested: BackendName, *, device: str = "auto") -> BackendName:
    """Resolve `auto` for this machine (see the module docs)."""
    if requested not in BACKENDS:
        raise BackendError(f"Unknown backend '{requested}': use one of {', '.join(BACKENDS)}.")
    if requested != "auto":
        return requested
    if is_apple_silicon() and mlx_available() and device in ("auto", "mps"):
        return "mlx"
    if device in ("cuda", "mps") or (device == "auto" and nvidia_gpu_present()):
        return "transformers"
    from app.inference.openvino.backend import openvino_available

    return "openvino" if openvino_available() else "transformers"


def create_backend(settings: EngineSettings) -> VisionBackend:
    """A not-yet-loaded backend for the engine settings; call `load()` on the thread that will generate."""
    name = choose_backend(settings.backend, device=settings.device)
    model = settings.model
    if name != "openai" and model and find(model) is None and is_unknown_name(model):
        raise unknown_name(model)
    source = source_for(settings.model, name)
    if name == "openai":
        from app.inference.openai_backend import OpenAIBackend

        if not settings.base_url:
            raise BackendError("The openai backend needs --base-url (e.g. http://127.0.0.1:8080/v1).")
        return OpenAIBackend(
            base_url=settings.base_url,
            api_key=settings.api_key,
            model=settings.remote_model,
            timeout_s=settings.timeout_s,
        )
    if name == "mlx":
        from app.inference.mlx_backend import MLXBackend

        return MLXBackend(model=source, allow_download=settings.allow_download)
    if name == "openvino" and family_of(settings.model) == "qwen3_5":
        from app.inference.openvino.genai import GenAIBackend

        return GenAIBackend(model=source, dtype=settings.dtype, allow_download=settings.allow_download)
    if name == "openvino":
        from app.inference.openvino.backend import OpenVINOBackend

        backend = OpenVINOBackend(model=source, dtype=settings.dtype, allow_download=settings.allow_download)
        from app.inference.openvino.backend import torch_available

        # The user did not insist on OpenVINO: fall back if it can't run (where PyTorch is installed).
        if settings.backend == "auto" and torch_available():
            return FallbackBackend(
                backend, lambda: _transformers(settings.model_copy(update={"dtype": "auto"}))
            )
        return backend
    return _transformers(settings)


def _transformers(settings: EngineSettings) -> VisionBackend:
    from app.inference.transformers_backend import TransformersBackend

    if settings.dtype == "int8":
        raise BackendError("8-bit weights (dtype int8) are for the openvino backend; use auto or float32.")
    return TransformersBackend(
        model=source_for(settings.model, "transformers"),
        device=settings.device,
        dtype=settings.dtype,
        allow_download=settings.allow_download,
    )


# The one shape of "how to build a backend": from engine settings (`create_backend`, or a test's
# fake). The model thread takes a `BackendFactory` (no arguments, called on its own thread) made by
# `backend_factory` from settings and this.
MakeBackend = Callable[[EngineSettings], VisionBackend]


def backend_factory(settings: EngineSettings, make: MakeBackend = create_backend) -> BackendFactory:
    """A factory the model thread calls on its own thread to build the backend for `settings`.

    Every backend is wrapped in `SeeingBackend`: a picture with nothing in it never reaches the
    model, and text is quoted from the text reader.
    """
    from app.inference.seeing import SeeingBackend

    return lambda: SeeingBackend(make(settings))


class FallbackBackend:
    """The fast CPU engine, or, when its model can't be prepared, transformers with a note saying why."""

    def __init__(self, primary: VisionBackend, fallback: Callable[[], VisionBackend]) -> None:
        self._active = primary
        self._fallback = fallback
        self.note = ""

    @property
    def active(self) -> VisionBackend:
        """The backend that answers."""
        return self._active

    @property
    def info(self) -> BackendInfo:
        """The answering backend's info, with the fallback note when there is one."""
        info = self._active.info
        return BackendInfo(info.backend, info.model, info.device, info.dtype, note=self.note)

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Load the fast engine; if its conversion fails, say so and load transformers instead."""
        from app.inference.model_files import ModelUnavailable

        try:
            self._active.load(progress)
            return
        except ModelUnavailable:
            raise  # no model at all: the fallback could not do better
        except (BackendError, ImportError) as exc:  # ConversionFailed among them
            reason = str(exc).rstrip(".")
            self.note = (
                f"The fast CPU engine could not be prepared ({reason}); using the slower PyTorch engine."
            )
        if progress is not None:
            progress(LoadProgress("load", self.note))
        self._active.close()
        self._active = self._fallback()
        self._active.load(progress)

    def warm_up(self) -> None:
        """Warm up the answering backend."""
        self._active.warm_up()

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        """Stream from the answering backend."""
        return self._active.stream(request, cancel)

    def close(self) -> None:
        """Release the answering backend."""
        self._active.close()


def fetch_model(
    settings: EngineSettings, progress: LoadProgressCallback | None = None, *, download: bool = True
) -> Path:
    """The folder of the files this engine loads for `settings.model`, downloading them if allowed.

    Only what the engine reads: one precision of SmolVLM2's ONNX export or Qwen's OpenVINO
    export on the CPU engine, the weights elsewhere. `download=False` only looks in the cache
    (ModelUnavailable when the files are not there).
    """
    name = choose_backend(settings.backend, device=settings.device)
    if name == "openai":
        raise BackendError("A remote server's model is not downloaded here.")
    chosen = settings.model_copy(update={"allow_download": download and settings.allow_download})
    backend = create_backend(chosen)
    inner = getattr(backend, "active", backend)  # the fast CPU engine behind its fallback
    own = getattr(inner, "download", None)
    if callable(own):
        folder: Path = own(progress)
        return folder
    from app.inference.model_files import resolve_model

    return resolve_model(
        source_for(settings.model, name), allow_download=chosen.allow_download, progress=progress
    )


def engine_label(settings: EngineSettings) -> str:
    """Which engine runs `settings.model` on this computer, in words (`smolsight models`, Settings)."""
    name = choose_backend(settings.backend, device=settings.device)
    if name == "openvino" and family_of(settings.model) == "qwen3_5":
        from app.inference.openvino.genai import genai_available

        return "OpenVINO GenAI (CPU)" if genai_available() else "needs openvino-genai"
    labels = {
        "openvino": "OpenVINO (CPU)",
        "mlx": "MLX (Apple GPU)",
        "transformers": "PyTorch",
        "openai": "remote server",
    }
    return labels.get(name, name)


def local_folder(model: str) -> Path:
    """The folder of `model` on this computer, never downloading.

    A folder, a downloaded hub id, or a name from `smolsight models` as this computer's engine
    would load it. ModelUnavailable says what is missing (and how to fetch it), BackendError an
    unknown name.
    """
    from app.inference.model_files import ModelUnavailable, downloaded_folder

    entry = find(model)
    if entry is None and is_unknown_name(model):
        raise unknown_name(model)
    source = entry.repo(choose_backend("auto")) if entry is not None else model
    try:
        return downloaded_folder(source)
    except ModelUnavailable as exc:
        if entry is None:
            raise
        fetch = f"smolsight download {entry.name} fetches it"
        raise ModelUnavailable(f"{entry.name} has not been downloaded on this computer ({fetch}).") from exc


def why_not_loadable(model: str) -> str | None:
    """Why `model` can't be loaded here, known without loading it; None when it may load.

    A model's name (`qwen3.5-0.8b`) stands for the download of the engine this computer uses;
    a word that names no model is said so; folders and hub ids as `model_files` checks them.
    """
    entry = find(model)
    if entry is not None:
        model = entry.repo(choose_backend("auto"))
    elif is_unknown_name(model):
        return str(unknown_name(model))
    return why_folder_or_id_not_loadable(model)
