"""What each command was asked to do this once: files, prompts, modes, addresses.

These are not settings: nothing here is saved, and nothing here repeats a setting (how long
an answer may be, how often narration speaks, what a summary says per scene: those are in
`Settings`, which `--flags` change for one run). Each default is written here once; the
command line's help reads it from here, and a flag that is not given leaves it.
"""

from __future__ import annotations

import dataclasses
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
class NarrateOptions:
    """`smolsight narrate`: which source, which mode, for how long."""

    source: str = "webcam"
    mode: Mode = "continuous"
    question: str = ""
    duration_s: float | None = None
    fast: bool = False
    loop: bool = False
    speak: bool = False


@dataclass(frozen=True)
class SummarizeOptions:
    """`smolsight summarize`: the video, and which files to write where."""

    path: Path
    export: str = "vtt,srt,md,json"
    out: Path | None = None  # None: next to the video


@dataclass(frozen=True)
class ServeOptions:
    """`smolsight serve`: where to listen and whom to let in."""

    host: str = "127.0.0.1"
    port: int = 8080
    server_api_key: str | None = None  # the key clients must send (not a remote server's)
    no_auth: bool = False
    cors_origins: tuple[str, ...] = ()
    allow_files: tuple[Path, ...] = ()
    remote_images: bool = True
    allow_link_local_urls: bool = False
    queue_size: int = 4
    log_level: str = "info"


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


def default_of(options: type[object], name: str) -> object:
    """The default of one option (for help texts)."""
    for item in dataclasses.fields(options):  # type: ignore[arg-type]
        if item.name == name:
            return item.default
    raise KeyError(name)
