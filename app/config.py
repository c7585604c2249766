"""Typed settings: every user-visible setting, its default written once, the settings file, validation.

`Settings` is grouped by what a change touches: `engine` (which model and engine: a change
reloads the model), `describe` (one-off descriptions), `narration` (live narration),
`speech`, `display`, `summary` (video summaries) and `input` (what SmolSight agrees to read).
Groups are immutable; `Settings.changed(group, **values)` makes a validated copy. Command-line
flags are merged by one function (`app.commands.flags.settings_from_args`, through `with_values`): a flag
not given leaves the setting as the file says, and the file leaves it at its default.

The file is JSON, grouped the same way. A file written by an earlier SmolSight, with every
setting at the top level, is read as it was meant (`LEGACY_KEYS`) and written back grouped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from app.files import write_text_atomic
from app.limits import MAX_FRAMES, MAX_IMAGE_PIXELS
from app.prompts import Detail, Verbosity

BackendName = Literal["auto", "mlx", "openvino", "transformers", "openai"]
Device = Literal["auto", "cpu", "cuda", "mps"]
DType = Literal["auto", "int8", "float32", "bfloat16", "float16"]
Output = Literal["auto", "screen_reader", "speech", "both", "text"]
Theme = Literal["system", "light", "dark", "high_contrast"]
Stale = Literal["say_as_past", "drop"]
GroupName = Literal["engine", "describe", "narration", "speech", "display", "summary", "input"]
CONFIG_ENV = "SMOLSIGHT_CONFIG"  # a settings file to use instead of the per-user one


class ConfigError(ValueError):
    """The settings file can't be read or holds a bad value; the message says which."""


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineSettings(_Group):
    """Which model, and the engine that runs it: a change here loads the model again."""

    model: str | None = Field(
        default=None, description="Hub id or local folder; empty: the backend's default SmolVLM2."
    )
    backend: BackendName = "auto"
    device: Device = "auto"
    dtype: DType = "auto"
    allow_download: bool = True
    base_url: str | None = Field(default=None, description="OpenAI-compatible server for --backend openai.")
    api_key: str | None = Field(default=None, description="Key for that server (sent as a Bearer token).")
    remote_model: str | None = Field(default=None, description="Model name on that server.")
    timeout_s: float = Field(default=120.0, gt=0, le=3600, description="Longest wait for a remote server.")


class DescribeSettings(_Group):
    """One-off descriptions (`smolsight describe`): answer length, randomness, tiling, video sampling."""

    max_tokens: int = Field(default=64, ge=1, le=2048)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    split_images: bool = Field(default=False, description="Tile images (slow; for small print).")
    video_fps: float = Field(default=1.0, ge=0.05, le=30, description="Frames taken from a video per second.")
    video_frames: int = Field(default=16, ge=1, le=MAX_FRAMES, description="Most frames of a video.")
    read_text: bool = Field(
        default=True, description="Quote a picture's text from the text reader instead of the model's guess."
    )
    accurate_answers: bool = Field(
        default=False,
        description=(
            "Answer questions and detailed descriptions with the most accurate model (qwen3.5-0.8b) "
            "while live narration keeps the model chosen; needs that model downloaded."
        ),
    )


class NarrationSettings(_Group):
    """Live narration: how often, how much, what counts as a change, what is remembered."""

    verbosity: Verbosity = "brief"
    interval_s: float = Field(default=3.0, ge=0.0, le=600, description="At most one description every K s.")
    change_threshold: float = Field(default=20.0, ge=1.0, le=100.0, description="Scene-change score 0-100.")
    buffer_fps: float = Field(default=1.0, ge=0.2, le=4.0, description="Frames looked at per second.")
    buffer_frames: int = Field(default=16, ge=1, le=MAX_FRAMES)
    clip_seconds: float = Field(default=5.0, ge=1.0, le=64.0, description="'What just happened' span.")
    camera_index: int = Field(default=0, ge=0, le=63)
    memory: bool = Field(default=True, description="Keep a scene log for follow-up questions.")
    stale: Stale = Field(
        default="say_as_past",
        description="A description the scene has outrun: say it as past ('A moment ago: …') or drop it.",
    )
    keep_history: bool = True


class SpeechSettings(_Group):
    """How descriptions are voiced."""

    output: Output = Field(
        default="auto",
        description=(
            "Who says descriptions: auto (your screen reader when one is running, else SmolSight's "
            "voice), screen_reader, speech (SmolSight's voice), both, or text (show them only)."
        ),
    )
    engine: str = Field(
        default="", description="Speech engine by name (speechd, sapi, winrt, darwin); empty: the system's."
    )
    voice: str = ""
    rate: float = Field(default=0.3, ge=-1.0, le=1.0)
    volume: float = Field(default=1.0, ge=0.0, le=1.0)
    muted: bool = False


class DisplaySettings(_Group):
    """How the window looks."""

    theme: Theme = "system"
    caption_font_pt: int = Field(default=28, ge=10, le=96)


class SummarySettings(_Group):
    """Video summaries: how much to say per scene, how finely to look, how long a scene may be."""

    detail: Detail = "sentence"
    fps: float = Field(default=1.0, ge=0.05, le=4.0, description="Frames looked at per second.")
    max_segment_s: float = Field(default=30.0, gt=0, le=3600, description="Longest scene in seconds.")
    frames_per_segment: int = Field(default=8, ge=1, le=MAX_FRAMES, description="Frames per scene.")

    @model_validator(mode="after")
    def _fits_a_clip(self) -> SummarySettings:
        if self.max_segment_s * self.fps > MAX_FRAMES:
            raise ValueError(f"max_segment_s × fps must stay within {MAX_FRAMES} frames")
        return self


class InputSettings(_Group):
    """What SmolSight agrees to read."""

    max_image_pixels: int = Field(
        default=MAX_IMAGE_PIXELS,
        ge=1_000_000,
        le=500_000_000,
        description="Largest image to read, in pixels.",
    )
    allow_private_urls: bool = Field(
        default=False, description="Let the server fetch image URLs on this machine or its private network."
    )


class Settings(BaseModel):
    """Everything a user can set. CLI flags override the file; the file overrides defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: EngineSettings = Field(default_factory=EngineSettings)
    describe: DescribeSettings = Field(default_factory=DescribeSettings)
    narration: NarrationSettings = Field(default_factory=NarrationSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    display: DisplaySettings = Field(default_factory=DisplaySettings)
    summary: SummarySettings = Field(default_factory=SummarySettings)
    input: InputSettings = Field(default_factory=InputSettings)

    def changed(self, group: GroupName, **values: object) -> Settings:
        """A validated copy with `values` set in `group` (ConfigError naming the key if one is bad)."""
        return self.with_values({(group, key): value for key, value in values.items()})

    def with_values(
        self,
        values: Mapping[tuple[str, str], object],
        *,
        source: str = "settings",
        names: Mapping[str, str] | None = None,
    ) -> Settings:
        """A validated copy with each (group, key) set to its value; errors name keys as `names` says."""
        data = self.model_dump()
        for (group, key), value in values.items():
            data.setdefault(group, {})[key] = value
        return settings_from_dict(data, source=source, names=names)

    def changes_from(self, old: Settings) -> dict[tuple[str, str], object]:
        """What differs from `old`, as (group, key) → new value."""
        mine, theirs = self.model_dump(), old.model_dump()
        return {
            (group, key): value
            for group, values in mine.items()
            for key, value in values.items()
            if theirs[group][key] != value
        }


def bounds(group: type[BaseModel], key: str) -> tuple[float, float]:
    """The lowest and highest value a numeric setting takes (for spin boxes and +/- keys)."""
    info: FieldInfo = group.model_fields[key]
    low = high = None
    for rule in info.metadata:
        low = getattr(rule, "ge", getattr(rule, "gt", low))
        high = getattr(rule, "le", getattr(rule, "lt", high))
    if low is None or high is None:
        raise ValueError(f"{group.__name__}.{key} has no bounds")
    return float(low), float(high)


def _legacy_keys() -> dict[str, tuple[str, str]]:
    """An earlier SmolSight's top-level keys → (group, key) now."""
    renamed = {
        "narration_interval_s": ("narration", "interval_s"),
        "stale_descriptions": ("narration", "stale"),
        "speech_engine": ("speech", "engine"),
        "speech_rate": ("speech", "rate"),
        "speech_volume": ("speech", "volume"),
        "max_tokens": ("describe", "max_tokens"),
        "temperature": ("describe", "temperature"),
        "split_images": ("describe", "split_images"),
    }
    same = {
        key: (group, key)
        for group, field in Settings.model_fields.items()
        for key in cast(type[BaseModel], field.annotation).model_fields
    }
    return {**same, **renamed}


LEGACY_KEYS = _legacy_keys()


def default_config_path() -> Path:
    """The per-user settings file (platform conventions), or $SMOLSIGHT_CONFIG."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("SmolSight", appauthor=False)) / "settings.json"


def _describe(error: ValidationError, source: str, names: Mapping[str, str]) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(whole file)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"{source}: '{names.get(key, key)}': {message}")
    return "\n".join(lines)


def settings_from_dict(
    data: Mapping[str, object], *, source: str = "settings", names: Mapping[str, str] | None = None
) -> Settings:
    """Validate a mapping into `Settings`, naming every bad key (as `names` calls it, if given)."""
    grouped = _grouped(data)
    try:
        return Settings.model_validate(grouped)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source, names or {})) from None


def _grouped(data: Mapping[str, object]) -> dict[str, object]:
    """Top-level keys of an earlier settings file moved into their groups; the rest as it is."""
    grouped: dict[str, object] = {}
    for key, value in data.items():
        if key in Settings.model_fields or key not in LEGACY_KEYS:
            grouped[key] = value
    for key, value in data.items():
        if key not in Settings.model_fields and key in LEGACY_KEYS:
            group, name = LEGACY_KEYS[key]
            section = grouped.setdefault(group, {})
            if isinstance(section, dict):
                section.setdefault(name, value)
    return grouped


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
    write_text_atomic(path, json.dumps(settings.model_dump(), indent=2) + "\n", private=True)
    return path
