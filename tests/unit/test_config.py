"""Settings: each default written once, the grouped file, an earlier flat file, errors naming the key."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.cli import parse_args
from app.commands.flags import settings_from_args
from app.config import ConfigError, Settings, load_settings, save_settings


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "nope.json") == Settings()


def test_round_trip_keeps_the_groups(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    settings = Settings().changed("describe", max_tokens=20).changed("engine", backend="transformers")
    save_settings(settings, path)
    assert load_settings(path) == settings
    assert json.loads(path.read_text())["describe"]["max_tokens"] == 20
    assert not path.with_suffix(".tmp").exists()


def test_a_file_from_an_earlier_smolsight_is_read_as_meant(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    flat = {
        "max_tokens": 20,
        "narration_interval_s": 7.0,
        "stale_descriptions": "drop",
        "speech_rate": 0.5,
        "theme": "dark",
        "keep_history": False,
        "allow_private_urls": True,
    }
    path.write_text(json.dumps(flat))
    settings = load_settings(path)
    assert settings.describe.max_tokens == 20
    assert (settings.narration.interval_s, settings.narration.stale) == (7.0, "drop")
    assert (settings.speech.rate, settings.display.theme) == (0.5, "dark")
    assert not settings.narration.keep_history and settings.input.allow_private_urls
    save_settings(settings, path)  # written back grouped
    assert load_settings(path) == settings and "theme" not in json.loads(path.read_text())


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON (line 1"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps({"describe": {"temperature": 9}}), "'describe.temperature'"),
        (json.dumps({"temperature": 9}), "'describe.temperature'"),  # an earlier file's key
        (json.dumps({"engine": {"backend": "tpu"}}), "'engine.backend'"),
        (json.dumps({"max_token": 5}), "'max_token': unknown setting"),
        (json.dumps({"speech": {"rate": 0.1, "pitch": 1}}), "'speech.pitch': unknown setting"),
        (json.dumps({"summary": {"fps": 4, "max_segment_s": 30}}), "within 64 frames"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        load_settings(path)


def parse(*argv: str) -> argparse.Namespace:
    return parse_args(list(argv))


def test_flags_not_given_leave_the_saved_settings(tmp_path: Path) -> None:
    saved = (
        Settings()
        .changed("narration", interval_s=9.0, change_threshold=35.0, buffer_fps=2.0, verbosity="detailed")
        .changed("describe", max_tokens=99, video_frames=8)
    )
    assert settings_from_args(parse("narrate"), saved=saved) == saved
    assert settings_from_args(parse("describe", "x.jpg"), saved=saved) == saved
    given = settings_from_args(parse("narrate", "--interval", "1", "--fps", "4"), saved=saved)
    assert (given.narration.interval_s, given.narration.buffer_fps) == (1.0, 4.0)
    assert given.narration.change_threshold == 35.0 and given.narration.verbosity == "detailed"


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (("narrate", "--fps", "9"), "--fps"),
        (("describe", "x.jpg", "--max-tokens", "0"), "--max-tokens"),
        (("describe", "x.jpg", "--max-frames", "65"), "--max-frames"),
        (("summarize", "v.mp4", "--fps", "4"), "within 64 frames"),
    ],
)
def test_bad_flags_are_named_by_their_flag(argv: tuple[str, ...], flag: str) -> None:
    with pytest.raises(ConfigError, match=f"command line: .*{flag}"):
        settings_from_args(parse(*argv), saved=Settings())
