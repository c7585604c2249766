"""Typed settings → a backend: the one place that chooses and builds an inference engine."""

from __future__ import annotations

import platform
import sys
from typing import get_args

from app.config import BackendName, Settings
from app.inference.base import BackendError, VisionBackend
from app.inference.engine import BackendFactory
from app.inference.mlx_backend import mlx_available

BACKENDS: tuple[BackendName, ...] = get_args(BackendName)


def is_apple_silicon() -> bool:
    """Whether this is macOS on an arm64 Mac."""
    return sys.platform == "darwin" and platform.machine() == "arm64"


def choose_backend(requested: BackendName) -> BackendName:
    """Resolve `auto`: MLX on Apple Silicon when it imports, else transformers."""
    if requested not in BACKENDS:
        raise BackendError(f"Unknown backend '{requested}': use one of {', '.join(BACKENDS)}.")
    if requested != "auto":
        return requested
    return "mlx" if is_apple_silicon() and mlx_available() else "transformers"


def create_backend(settings: Settings) -> VisionBackend:
    """A not-yet-loaded backend for `settings`; call `load()` on the thread that will generate."""
    name = choose_backend(settings.backend)
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

        return MLXBackend(model=settings.model, allow_download=settings.allow_download)
    from app.inference.transformers_backend import TransformersBackend

    return TransformersBackend(
        model=settings.model,
        device=settings.device,
        dtype=settings.dtype,
        allow_download=settings.allow_download,
    )


def backend_factory(settings: Settings) -> BackendFactory:
    """A factory the engine calls on its own thread to build the backend for `settings`."""
    return lambda: create_backend(settings)
