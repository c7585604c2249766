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
