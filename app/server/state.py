"""What a running server holds: the model it serves and how it behaves (read by the routes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from app.inference.model_files import DEFAULT_MODELS, why_not_loadable
from app.inference.model_thread import BackendFactory, ModelThread
from app.server.errors import ApiError
from app.server.images import ImageLimits


def public_model_name(model: str) -> str:
    """How a model is named to clients: a hub id as it is, a folder by its own name, never its path.

    The server's file layout (user names, mount points) is nobody's business but its operator's.
    """
    if "\\" in model or model.startswith(("/", ".", "~")) or Path(model).expanduser().exists():
        return PureWindowsPath(model).name if "\\" in model else Path(model).name
    return model


@dataclass
class ServedModel:
    """The model thread the server answers with, the model name it reports, and how to switch models."""

    model_thread: ModelThread
    name: str | None = None  # what is loaded: a folder or a hub id (None: the default model)
    factory_for: Callable[[str | None], BackendFactory] | None = None  # model name → backend factory
    started_at: float = field(default_factory=time.time)
    served_name: str | None = None  # `--served-model-name`: what clients see instead

    def switch(self, model: str) -> None:
        """Load `model` in the background (after the running request); /health says loading."""
        if self.factory_for is None:
            raise ApiError(
                400, "This server can't switch models", code="invalid_request", param="active_model"
            )
        why = why_not_loadable(model)
        if why:  # refused before anything changes: the model in use goes on answering
            raise ApiError(
                400, f"Can't switch to {model}: {why}", code="model_not_loadable", param="active_model"
            )
        self.name = model
        self.served_name = None  # the alias named the model before; the new one goes by its own name
        self.model_thread.reload(self.factory_for(model))

    @property
    def model_id(self) -> str:
        """The name clients see: the alias, else the model's public name (no path), else the default."""
        if self.served_name:
            return self.served_name
        info = self.model_thread.info
        loaded = self.name or (info.model if info else None)
        return public_model_name(loaded or DEFAULT_MODELS["transformers"])

    def public(self, text: str) -> str:
        """`text` (a reason a load failed, …) with the model's folder path replaced by its public name."""
        model = self.name or ""
        if model and public_model_name(model) != model:
            for form in {model, str(Path(model).expanduser()), str(Path(model).expanduser().resolve())}:
                text = text.replace(form, self.model_id)
        return text


@dataclass
class ApiPolicy:
    """How the server behaves; `smolsight serve` fills this from flags."""

    client_key: str | None = None  # the key clients must send (a remote server's is `EngineSettings.api_key`)
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 50 * 1024 * 1024
    # A body over the limit is still read (and thrown away) up to this much, so the client,
    # which sends it all before reading, gets the 413 rather than a reset connection.
    max_drain_bytes: int = 512 * 1024 * 1024
    max_context_tokens: int | None = None  # a lower limit than the model's context, if any
    images: ImageLimits = field(default_factory=ImageLimits)
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    retry_after_s: int = 2
    read_text: bool = True  # a picture's text quoted from the text reader (app/inference/seeing.py)
