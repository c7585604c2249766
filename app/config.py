"""Typed settings: defaults, the JSON settings file, validation with messages that name the key."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.files import write_text_atomic
from app.prompts import Verbosity

BackendName = Literal["auto", "mlx", "openvino", "transformers", "openai"]
Device = Literal["auto", "cpu", "cuda", "mps"]
DType = Literal["auto", "int8", "float32", "bfloat16", "float16"]
Output = Literal["speech", "screen_reader", "text"]
Theme = Literal["system", "light", "dark", "high_contrast"]
Stale = Literal["say_as_past", "drop"]
CONFIG_ENV = "SMOLSIGHT_CONFIG"  # a settings file to use instead of the per-user one


class ConfigError(ValueError):
    """The settings file can't be read or holds a bad value; the message says which."""


class Settings(BaseModel):
    """Everything a user can set. CLI flags override the file; the file overrides defaults."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str | None = Field(
        default=None, description="Hub id or local folder; empty: the backend's default SmolVLM2."
    )
    backend: BackendName = "auto"
    device: Device = "auto"
    dtype: DType = "auto"
    max_tokens: int = Field(default=64, ge=1, le=2048)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    timeout_s: float = Field(default=120.0, gt=0, le=3600, description="Longest wait for a remote server.")
    split_images: bool = Field(default=False, description="Tile images (slow; for small print).")
    allow_download: bool = True
    max_image_pixels: int = Field(
        default=40_000_000, ge=1_000_000, le=500_000_000, description="Largest image to read, in pixels."
    )
    allow_private_urls: bool = Field(
        default=False, description="Let the server fetch image URLs on this machine or its private network."
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible server for --backend openai.")
    api_key: str | None = Field(default=None, description="Key for that server (sent as a Bearer token).")
    remote_model: str | None = Field(default=None, description="Model name on that server.")

    # Live narration
    verbosity: Verbosity = "brief"
    narration_interval_s: float = Field(default=3.0, ge=0.0, le=600, description="At most one every K s.")
    change_threshold: float = Field(default=20.0, ge=1.0, le=100.0, description="Scene-change score 0-100.")
    buffer_fps: float = Field(default=1.0, ge=0.2, le=4.0)
    buffer_frames: int = Field(default=16, ge=1, le=64)
    clip_seconds: float = Field(default=5.0, ge=1.0, le=64.0, description="'What just happened' span.")
    camera_index: int = Field(default=0, ge=0, le=63)
    memory: bool = Field(default=True, description="Keep a scene log for follow-up questions.")
    stale_descriptions: Stale = Field(
        default="say_as_past",
        description="A description the scene has outrun: say it as past ('A moment ago: …') or drop it.",
    )

    # Output
    output: Output = Field(
        default="speech", description="Speak, send to the screen reader, or show text only."
    )
    speech_engine: str = Field(
        default="", description="Speech engine by name (speechd, sapi, winrt, darwin); empty: the system's."
    )
    voice: str = ""
    speech_rate: float = Field(default=0.3, ge=-1.0, le=1.0)
    speech_volume: float = Field(default=1.0, ge=0.0, le=1.0)
    muted: bool = False

    # Appearance and history
    theme: Theme = "system"
    caption_font_pt: int = Field(default=28, ge=10, le=96)
    keep_history: bool = True


def default_config_path() -> Path:
    """The per-user settings file (platform conventions), or $SMOLSIGHT_CONFIG."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("SmolSight", appauthor=False)) / "settings.json"


def _describe(error: ValidationError, source: str) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(whole file)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"{source}: '{key}': {message}")
    return "\n".join(lines)


def settings_from_dict(data: dict[str, object], *, source: str = "settings") -> Settings:
    """Validate a mapping into `Settings`, naming every bad key."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings file; a missing file means defaults."""
    path = path or default_config_path()
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: can't be read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a JSON object of settings")
    return settings_from_dict(data, source=str(path))


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings atomically (a crash never leaves a half-written file)."""
    path = path or default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(settings.model_dump(), indent=2) + "\n")
    return path


def apply_overrides(settings: Settings, overrides: dict[str, object]) -> Settings:
    """A copy with the non-None `overrides` (from CLI flags) applied and validated."""
    data = settings.model_dump()
    data.update({k: v for k, v in overrides.items() if v is not None})
    return settings_from_dict(data, source="command line")
