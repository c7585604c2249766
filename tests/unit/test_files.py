"""Files SmolSight writes get the permissions a person expects: the umask's, or the ones they had."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings, save_settings
from app.files import write_text_atomic

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


@pytest.fixture
def umask_022() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_export_is_readable_as_any_new_file_and_a_rewritten_one_keeps_its_mode(
    tmp_path: Path, umask_022: None
) -> None:
    export = tmp_path / "walk.vtt"
    write_text_atomic(export, "WEBVTT\n")
    assert mode(export) == 0o644 and export.read_text(encoding="utf-8") == "WEBVTT\n"
    export.chmod(0o640)
    write_text_atomic(export, "WEBVTT\n\n1\n")
    assert mode(export) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["walk.vtt"]  # no temporary file left behind


def test_the_settings_file_stays_the_users_alone(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "settings.json"
    save_settings(Settings(), path)
    assert mode(path) == 0o600


def test_history_exports_of_hostile_answers_are_clean(tmp_path: Path) -> None:
    import json

    from app.narration.history import HistoryEntry, write_export

    hostile = "<b>Bold</b> *star*\n# Heading\u2028- item \u202eevil\x1b"
    entries = [
        HistoryEntry(
            source_time=1.0, wall_time="2026-12-02T10:00:00", mode="ask", text=hostile, question="Q\nbad?"
        ),
        HistoryEntry(2.0, "2026-12-02T10:00:01", "continuous", hostile),
    ]
    md = write_export(entries, tmp_path / "h.md").read_text(encoding="utf-8")
    lines = md.splitlines()
    assert [line[:4] for line in lines if line.startswith("- ")] == ["- **", "- **"]
    assert "<b>" not in md and "&lt;b&gt;" in md and "\\*star\\*" in md and "\\# Heading" in md
    assert not any(line.startswith("# Heading") for line in lines)
    txt = write_export(entries, tmp_path / "h.txt").read_text(encoding="utf-8")
    assert len(txt.splitlines()) == 2
    raw = write_export(entries, tmp_path / "h.json").read_text(encoding="utf-8")
    for text in (md, txt, raw):
        assert "\u2028" not in text and "\u202e" not in text and "\x1b" not in text
    said = json.loads(raw)["entries"][0]["text"]  # every word and line for programs, nothing invisible
    assert said == "<b>Bold</b> *star*\n# Heading\n- item evil"
