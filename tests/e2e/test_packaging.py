"""The wheel carries the resources, the icons and both commands (test_installed_app.py runs it)."""

from __future__ import annotations

import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_the_resources_inside_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"app/resources/sample.mp4", "app/resources/eval/vqa_sample.jsonl"} <= names
    assert not any(n.startswith(("tests/", "resources/", "benchmarks/")) for n in names)


def test_the_wheel_ships_the_icons_the_sample_photo_and_both_commands(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert {"app/resources/sample.jpg", "app/resources/icons/smolsight.svg"} <= names
    assert {"app/resources/eval/coffee.jpg", "app/resources/eval/page.png"} <= names  # eval needs no extras
    assert {f"app/resources/icons/smolsight-{size}.png" for size in (16, 32, 48, 64, 128, 256, 512)} <= names
    assert {
        "app/resources/vad/silero_vad_16k.onnx",
        "app/resources/vad/LICENSE",
    } <= names  # audio description
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = archive.read(entry_points).decode()
    assert "[console_scripts]\nsmolsight = app.cli:entry" in text
    assert "[gui_scripts]\nsmolsight-app = app.cli:gui_entry" in text  # no console window on Windows
