"""Settings file: defaults, validation naming the key, atomic save, CLI overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import ConfigError, Settings, apply_overrides, load_settings, save_settings


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "nope.json") == Settings()


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    save_settings(Settings(max_tokens=20, backend="transformers"), path)
    assert load_settings(path).max_tokens == 20
    assert not path.with_suffix(".tmp").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON (line 1"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps({"temperature": 9}), "'temperature'"),
        (json.dumps({"backend": "tpu"}), "'backend'"),
        (json.dumps({"max_token": 5}), "'max_token': unknown setting"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        load_settings(path)


def test_overrides_are_validated_too() -> None:
    assert apply_overrides(Settings(), {"max_tokens": 9, "model": None}).max_tokens == 9
    with pytest.raises(ConfigError, match="command line: 'max_tokens'"):
        apply_overrides(Settings(), {"max_tokens": 0})
