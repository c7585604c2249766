"""Where models come from: hub ids, local folders, the download cache, and clear errors offline."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

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

    def __init__(
        self, message: str, *, missing: bool = True, detail: str = "", incomplete: bool = False
    ) -> None:
        super().__init__(message)
        self.missing = missing
        self.detail = detail
        self.incomplete = incomplete  # the repository lacks the files asked for (it may have others)
        self.download_size = ""  # what the download would be, in words, when the engine knows
        self.model = ""  # the hub id that is missing, when one is


def default_model(backend: str) -> str:
    """The hub id we use for `backend` when the user names none."""
    return DEFAULT_MODELS.get(backend, DEFAULT_MODELS["transformers"])


ModelKind = Literal["folder", "hub", "word"]


def model_kind(model: str) -> ModelKind:
    r"""What a model as the user gave it names: the one rule every place that takes a model follows.

    A folder: a path (`/…`, `./…`, `~/…`, `C:\…`, two slashes or more) or anything that exists
    here. A hub id: `owner/name`. A word: a model's name from `smolsight models`
    (`qwen3.5-0.8b`), or a mistake to be said as one.
    """
    if model.startswith(("/", ".", "~")) or "\\" in model or (len(model) > 1 and model[1] == ":"):
        return "folder"
    if Path(model).expanduser().exists():
        return "folder"
    slashes = model.count("/")
    return "hub" if slashes == 1 else "word" if slashes == 0 else "folder"


def looks_like_path(model: str) -> bool:
    """Whether the user meant a folder (`model_kind`)."""
    return model_kind(model) == "folder"


def is_unknown_name(model: str) -> bool:
    """Whether `model` is a plain word (`model_kind`): meant as a model's name."""
    return model_kind(model) == "word"


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
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("onnx/*.onnx")):
        raise ModelUnavailable(f"{folder} has no model weights (*.safetensors, or an ONNX export in onnx/).")
    return folder


def why_not_loadable(model: str) -> str | None:
    """Why `model` can't be loaded here, known without loading it; None when it may load.

    A folder that isn't there or holds no model, or a hub id that isn't downloaded while
    offline mode is on. Paths in the answer are as `model` gave them. (Names of the models on
    offer are resolved first: `app.inference.factory.why_not_loadable`.)
    """
    if looks_like_path(model):
        folder = Path(model).expanduser().resolve()
        try:
            check_model_folder(folder)
        except ModelUnavailable as exc:
            return str(exc).replace(str(folder), model)
        return None
    if offline():
        try:
            from huggingface_hub import snapshot_download

            snapshot_download(model, local_files_only=True, **_hub_settings())  # type: ignore[arg-type]
        except Exception:
            return str(_not_here(model, "offline mode is on (HF_HUB_OFFLINE), so it can't be downloaded now"))
    return None


def _hub_settings() -> dict[str, str | None]:
    """The hub's address and cache folder as the environment says now (None: the library's default)."""
    return {
        "endpoint": os.environ.get("HF_ENDPOINT") or None,
        "cache_dir": os.environ.get("HF_HUB_CACHE") or None,
    }


def offline() -> bool:
    """Whether the environment forbids going to the hub (HF_HUB_OFFLINE)."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _not_here(model: str, why: str = "") -> ModelUnavailable:
    reason = f" ({why})" if why else ""
    missing = ModelUnavailable(f"The model {model} is not on this computer yet{reason}.", detail=why)
    missing.model = model
    return missing


def _download_failed(model: str, exc: Exception) -> ModelUnavailable:
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
    signs = ("ConnectError", "Name or service", "resolve", "Network", "offline")
    offline = any(word in detail for word in signs)
    why = "this computer seems to be offline" if offline else "the download failed"
    return ModelUnavailable(f"The model {model} could not be downloaded: {why}.", detail=detail)


# What the PyTorch engines download: the repository without its ONNX export (several GB of
# graphs in many precisions that only the CPU engine reads, and then only one of them).
PYTORCH_IGNORE = ("onnx/*",)


def _selection(patterns: list[str] | None) -> dict[str, list[str]]:
    """Which files of a repository to fetch: `patterns`, or all but the ONNX export."""
    return {"ignore_patterns": list(PYTORCH_IGNORE)} if patterns is None else {"allow_patterns": patterns}


def _has_pytorch_weights(folder: Path) -> bool:
    return any(folder.glob("*.safetensors"))


def resolve_model(
    model: str,
    *,
    allow_download: bool = True,
    progress: LoadProgressCallback | None = None,
    patterns: list[str] | None = None,
    complete: Callable[[Path], bool] | None = None,
) -> Path:
    """Turn a hub id or folder into a local folder, downloading once if allowed.

    The download goes to the Hugging Face cache (shared with other tools), so it happens
    once per machine; an interrupted one resumes where it stopped, and every large file is
    checked against the hub's SHA-256. `patterns` limits it to the files an engine needs
    (default: everything but the ONNX export) and `complete` says whether a folder has them
    (default: PyTorch weights); when the repository lacks them, ModelUnavailable with
    `incomplete` set. `progress` hears how many bytes are done during a download.
    """
    if looks_like_path(model):
        return check_model_folder(Path(model).expanduser().resolve())
    complete = complete or _has_pytorch_weights
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ModelUnavailable(f"huggingface_hub is not installed: {exc}") from exc
    try:
        # The same file selection as the download: the cache counts a snapshot complete by it.
        local = {**_hub_settings(), **_selection(patterns)}
        folder = Path(snapshot_download(model, local_files_only=True, **local))  # type: ignore[arg-type]
        if (folder / "config.json").is_file() and complete(folder):
            return folder
    except Exception:
        pass  # not cached (or a partial cache): download below
    if offline():
        raise _not_here(model, "offline mode is on (HF_HUB_OFFLINE), so it can't be downloaded now")
    if not allow_download:
        raise _not_here(model)
    folder = download_model(model, progress=progress, patterns=patterns)
    if not complete(folder):
        wanted = ", ".join(
            p for p in (patterns or ["*.safetensors"]) if p.endswith((".onnx", ".safetensors"))
        )
        raise ModelUnavailable(
            f"The model {model} does not publish the files this engine needs ({wanted}).", incomplete=True
        )
    return folder


def download_model(
    model: str, *, progress: LoadProgressCallback | None = None, patterns: list[str] | None = None
) -> Path:
    """Download `model` (or the files matching `patterns`) into the cache, checked; return its folder."""
    from huggingface_hub import snapshot_download

    kwargs: dict[str, object] = dict(_hub_settings())
    if progress is not None:
        kwargs["tqdm_class"] = _progress_tqdm(progress)
    kwargs.update(_selection(patterns))
    remove_stale_partials(model)
    try:
        folder = Path(snapshot_download(model, **kwargs))  # type: ignore[arg-type]
        verify_download(model, folder, patterns)
    except ModelUnavailable:
        raise
    except Exception as exc:
        raise _download_failed(model, exc) from exc
    if not (folder / "config.json").is_file():
        raise ModelUnavailable(f"{model} is not a model repository: it has no config.json.", missing=False)
    return folder


STALE_PARTIAL_S = 3600.0  # a partial file untouched this long belongs to no running download


def remove_stale_partials(model: str) -> list[Path]:
    """Delete partial files that interrupted downloads of `model` left in the cache; the deleted.

    huggingface_hub downloads each file to its own `.incomplete` file and renames it when
    done; a process that is stopped mid-file leaves it behind (up to the decoder's 363 MB).
    Those not written to for an hour belong to no running download.
    """
    import time

    from huggingface_hub import constants

    cache = Path(_hub_settings()["cache_dir"] or constants.HF_HUB_CACHE)
    blobs = cache / f"models--{model.replace('/', '--')}" / "blobs"
    removed = []
    now = time.time()
    for partial in blobs.glob("*.incomplete") if blobs.is_dir() else []:
        try:
            if now - partial.stat().st_mtime > STALE_PARTIAL_S:
                partial.unlink()
                removed.append(partial)
        except OSError:
            continue  # another process finished or removed it meanwhile
    return removed


def repository_files(model: str) -> list[str] | None:
    """The file names a hub repository lists, or None when the hub can't be asked (offline, no network)."""
    if offline():
        return None
    try:
        from huggingface_hub import HfApi

        return list(HfApi(endpoint=_hub_settings()["endpoint"]).list_repo_files(model))
    except Exception:  # no network, an unknown repository: the download then says what is wrong
        return None


def downloaded_folder(model: str) -> Path:
    """The folder of a local model, or of a hub model already in the download cache (never downloads)."""
    if looks_like_path(model):
        folder = Path(model).expanduser()
        if not folder.is_dir():
            raise ModelUnavailable(f"{model} is not a folder.")
        return folder.resolve()
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model, local_files_only=True, **_hub_settings()))  # type: ignore[arg-type]
    except Exception as exc:
        raise ModelUnavailable(
            f"{model} has not been downloaded on this computer (smolsight download fetches it)."
        ) from exc


class DamagedDownload(ModelUnavailable):
    """A downloaded file's SHA-256 differs from the hub's: the file was deleted, a retry fetches it again."""


def verify_download(model: str, folder: Path, patterns: list[str] | None = None) -> None:
    """Check the large (LFS) files a download selected (`patterns`) against the hub's SHA-256.

    huggingface_hub checks sizes only. A mismatch (a proxy that rewrote the file, a damaged
    disk) deletes the file, so the next start downloads it again, and says so in one line.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.utils import filter_repo_objects

    tree = HfApi(endpoint=_hub_settings()["endpoint"]).list_repo_tree(
        model, recursive=True, revision=folder.name
    )
    # the same selection as the download's, matched by huggingface_hub's own filter
    for info in filter_repo_objects(tree, key=lambda i: str(i.path), **_selection(patterns)):
        lfs = getattr(info, "lfs", None)
        expected = getattr(lfs, "sha256", None) if lfs is not None else None
        path = folder / info.path
        if not expected or not path.is_file():
            continue
        if sha256_of(path) != expected:
            target = path.resolve()
            path.unlink(missing_ok=True)
            target.unlink(missing_ok=True)
            raise DamagedDownload(
                f"{info.path} from {model} did not match the hub's checksum, so it was deleted; "
                "try again (a proxy or a failing disk can do this).",
                missing=True,
                detail=f"sha256 expected {expected}",
            )


def sha256_of(path: Path) -> str:
    """The file's SHA-256, hex, read in blocks."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


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
