"""What each command was asked to do this once: files, prompts, modes, addresses.

These are not settings: nothing here is saved, and nothing here repeats a setting (how long
an answer may be, how often narration speaks, what a summary says per scene: those are in
`Settings`, which `--flags` change for one run). Each default is written here once; the
command line's help reads it from here, and a flag that is not given leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.config import DType
from app.narration.policy import Mode

EvalKind = Literal["vqa", "context"]


@dataclass(frozen=True)
class DescribeOptions:
    """`smolsight describe`: a file, the screen (`source`) or the clipboard, once."""

    path: Path | None = None
    source: str | None = None  # screen, screen:N or window
    clipboard: bool = False
    prompt: str | None = None  # None: describe the scene (or the clip) briefly
    stream: bool = False
    stats: bool = False


@dataclass(frozen=True)
class ReadOptions:
    """`smolsight read`: a picture file, the screen (`source`) or the clipboard, once."""

    path: Path | None = None
    source: str | None = None  # screen, screen:N or window
    clipboard: bool = False
    language: str = "en"
    stats: bool = False


@dataclass(frozen=True)
class NarrateOptions:
    """`smolsight narrate`: which source, which mode, for how long."""

    source: str = "webcam"
    mode: Mode = "continuous"
    question: str = ""
    duration_s: float | None = None
    fast: bool = False
    loop: bool = False
    speak: bool = False
    list_cameras: bool = False  # list the cameras that open, and do nothing else
    read: bool = False  # read text as it comes into view (the text reader; no model)


@dataclass(frozen=True)
class SummarizeOptions:
    """`smolsight summarize`: the video, and which files to write where."""

    path: Path
    export: str = "vtt,srt,md,json"
    out: Path | None = None  # None: next to the video
    extended: bool = False  # audio description may pause the video (a longer described video)
    voice_rate: int = 180  # words per minute the descriptions are said at (app.video.voice.DEFAULT_WPM)


@dataclass(frozen=True)
class ServeOptions:
    """`smolsight serve`: where to listen and whom to let in."""

    host: str = "127.0.0.1"
    port: int = 8080
    client_keys: tuple[str, ...] = ()  # keys clients may send (a remote server's is `EngineSettings.api_key`)
    admin_key: str | None = None  # the one key that may switch the model or change defaults
    models: tuple[str, ...] = ()  # the models a switch may load on a server with keys
    allowed_hosts: tuple[str, ...] = ()  # Host header names to answer besides addresses and localhost
    max_request_pixels: int = 48_000_000  # decoded pixels of all the pictures of one request
    no_auth: bool = False
    cors_origins: tuple[str, ...] = ()
    allow_files: tuple[Path, ...] = ()
    remote_images: bool = True
    allow_link_local_urls: bool = False
    queue_size: int = 4
    log_level: str = "info"
    served_model_name: str | None = None  # what clients see the model called (default: its folder's name)


@dataclass(frozen=True)
class EvalOptions:
    """`smolsight eval`: which evaluation, on which data."""

    kind: EvalKind
    data: Path | None = None  # vqa: JSONL of {image, question, answers}; default: the sample set
    images: Path | None = None  # vqa: the data set's image folder; default: the JSONL's folder
    memory: bool = True  # context: keep the scene log
    json_out: Path | None = None


@dataclass(frozen=True)
class BenchOptions:
    """`smolsight bench`: how many runs, on which model and engines."""

    quick: bool = False
    runs: int = 3
    model: str | None = None  # None: the random 500M-architecture model
    backend: str = "all"
    dtype: DType = "auto"
    json_out: Path | None = None
    models: bool = False  # the three models side by side on this computer's own engine


@dataclass(frozen=True)
class GuiOptions:
    """`smolsight gui` (and `smolsight` alone): what to open first."""

    source: str | None = None  # webcam[:INDEX], screen[:N], window, or a file
    file: Path | None = None  # a video or image, as `source`


@dataclass(frozen=True)
class DownloadOptions:
    """`smolsight download`: which model (None: the engine's SmolVLM2)."""

    model: str | None = None


@dataclass(frozen=True)
class CheckModelOptions:
    """`smolsight check-model`: which model, and where to write the record."""

    model: str | None = None  # None: the CPU engine's SmolVLM2
    json_out: Path | None = None


@dataclass(frozen=True)
class BuildModelOptions:
    """`smolsight build-test-model`: where, which model, how big, which picture geometry."""

    out: Path
    real_size: bool = False
    geometry: str = "500m"  # how it sees pictures (`app.devtools.model_builder.GEOMETRIES`)
    family: str = "smolvlm2-500m"  # which model (`app.inference.catalog.NAMES`)
    onnx: bool = False  # SmolVLM2: also the published ONNX export (what the CPU engine reads)


@dataclass(frozen=True)
class DesktopEntryOptions:
    """`smolsight desktop-entry`: put SmolSight in the application menu, or take it out."""

    action: Literal["install", "remove"]


@dataclass(frozen=True)
class ModelsOptions:
    """`smolsight models`: a table, or JSON."""

    json: bool = False


@dataclass(frozen=True)
class ConfigOptions:
    """`smolsight config`: nothing but the settings file (`--config`)."""
