"""Where models come from: hub ids, local folders, the download cache, and clear errors offline."""

from __future__ import annotations

import os
from pathlib import Path

from app.inference.backend import BackendError
from app.inference.types import LoadProgress, LoadProgressCallback

DEFAULT_MODELS = {
    "transformers": "HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
    "mlx": "mlx-community/SmolVLM2-500M-Video-Instruct-mlx",
}
# Files a usable model folder must have (weights are checked separately: one or more shards).
_REQUIRED = ("config.json",)


class ModelUnavailable(BackendError):
    """The model isn't on this computer and can't be fetched now; the message says so plainly.

    `missing` is True when getting the model (downloading it, or choosing a folder) would fix
    it; `detail` holds the technical reason for logs and a Details view.
    """

    def __init__(self, message: str, *, missing: bool = True, detail: str = "") -> None:
        super().__init__(message)
        self.missing = missing
        self.detail = detail


def default_model(backend: str) -> str:
    """The hub id we use for `backend` when the user names none."""
    return DEFAULT_MODELS.get(backend, DEFAULT_MODELS["transformers"])


def looks_like_path(model: str) -> bool:
    """Whether the user meant a folder rather than a hub id like `owner/name`."""
    if model.startswith(("/", ".", "~")) or "\\" in model or (len(model) > 1 and model[1] == ":"):
        return True
    return model.count("/") != 1 or Path(model).exists()


def check_model_folder(folder: Path) -> Path:
    """Return `folder` if it holds a model, else raise with what is missing."""
    if not folder.is_dir():
        raise ModelUnavailable(f"Model folder not found: {folder}")
    missing = [name for name in _REQUIRED if not (folder / name).is_file()]
    if missing:
        raise ModelUnavailable(
            f"{folder} is not a model folder: it has no {', '.join(missing)}. "
            "Pass the folder that holds config.json and the .safetensors weights."
        )
    if not any(folder.glob("*.safetensors")):
        raise ModelUnavailable(f"{folder} has no model weights (*.safetensors).")
    return folder


def context_limit(folder: Path) -> int:
    """How many tokens the model in `folder` reads at most (its decoder's position count)."""
    import json

    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return 8192
    text = config.get("text_config", config)
    return int(text.get("max_position_embeddings", 8192))


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _not_here(model: str, why: str = "") -> ModelUnavailable:
    reason = f" ({why})" if why else ""
    return ModelUnavailable(f"The model {model} is not on this computer yet{reason}.", detail=why)


def _download_failed(model: str, exc: Exception) -> ModelUnavailable:
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
    signs = ("ConnectError", "Name or service", "resolve", "Network", "offline")
    offline = any(word in detail for word in signs)
    why = "this computer seems to be offline" if offline else "the download failed"
    return ModelUnavailable(f"The model {model} could not be downloaded: {why}.", detail=detail)


def resolve_model(
    model: str,
    *,
    allow_download: bool = True,
    progress: LoadProgressCallback | None = None,
) -> Path:
    """Turn a hub id or folder into a local folder, downloading once if allowed.

    The download goes to the Hugging Face cache (shared with other tools), so it happens
    once per machine. `progress` hears how many bytes are done during a download.
    """
    if looks_like_path(model):
        return check_model_folder(Path(model).expanduser().resolve())
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ModelUnavailable(f"huggingface_hub is not installed: {exc}") from exc
    try:
        return Path(snapshot_download(model, local_files_only=True))
    except Exception:
        pass  # not cached (or a partial cache): download below
    if _offline():
        raise _not_here(model, "offline mode is on (HF_HUB_OFFLINE), so it can't be downloaded now")
    if not allow_download:
        raise _not_here(model)
    return download_model(model, progress=progress)


def download_model(model: str, *, progress: LoadProgressCallback | None = None) -> Path:
    """Download `model` from the hub into the cache with a progress bar; return its folder."""
    from huggingface_hub import snapshot_download

    kwargs: dict[str, object] = {}
    if progress is not None:
        kwargs["tqdm_class"] = _progress_tqdm(progress)
    try:
        folder = Path(snapshot_download(model, **kwargs))  # type: ignore[arg-type]
    except Exception as exc:
        raise _download_failed(model, exc) from exc
    return check_model_folder(folder)


def download_progress(done: int, total: int) -> LoadProgress:
    """How far a first-run download is, in words and bytes."""
    message = "Downloading the model (first run only)"
    if total > 0:
        message += f": {done / 1e6:.0f} of {total / 1e6:.0f} MB"
    return LoadProgress("download", message, done, total)


def _progress_tqdm(progress: LoadProgressCallback) -> type:
    """A tqdm class that reports byte progress to a callback (for the GUI's progress bar)."""
    from tqdm.auto import tqdm

    class _Reporting(tqdm):  # type: ignore[misc]
        def update(self, n: float | None = 1) -> bool | None:
            result: bool | None = super().update(n)
            progress(download_progress(int(self.n), int(self.total or 0)))
            return result

    return _Reporting
