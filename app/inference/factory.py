"""Choosing and constructing a backend from settings."""

from __future__ import annotations

import platform
import sys

from app.inference.base import BackendError, VisionBackend
from app.inference.mlx_backend import MLXBackend, mlx_available

BACKENDS = ("auto", "mlx", "transformers", "openai")


def is_apple_silicon() -> bool:
    """Whether this is macOS on an arm64 Mac."""
    return sys.platform == "darwin" and platform.machine() == "arm64"


def choose_backend(requested: str) -> str:
    """Resolve `auto`: MLX on Apple Silicon when it imports, else transformers."""
    if requested not in BACKENDS:
        raise BackendError(f"Unknown backend '{requested}': use one of {', '.join(BACKENDS)}.")
    if requested != "auto":
        return requested
    return "mlx" if is_apple_silicon() and mlx_available() else "transformers"


def create_backend(
    backend: str = "auto",
    *,
    model: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    allow_download: bool = True,
    base_url: str | None = None,
    api_key: str | None = None,
    remote_model: str | None = None,
    timeout_s: float = 120.0,
) -> VisionBackend:
    """A not-yet-loaded backend; call `load()` on the thread that will generate."""
    name = choose_backend(backend)
    if name == "openai":
        from app.inference.openai_backend import OpenAIBackend

        if not base_url:
            raise BackendError("The openai backend needs --base-url (e.g. http://127.0.0.1:8080/v1).")
        return OpenAIBackend(base_url=base_url, api_key=api_key, model=remote_model, timeout_s=timeout_s)
    if name == "mlx":
        return MLXBackend(model=model, allow_download=allow_download)
    from app.inference.transformers_backend import TransformersBackend

    return TransformersBackend(model=model, device=device, dtype=dtype, allow_download=allow_download)
