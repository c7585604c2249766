"""An installed (non-editable) SmolSight carries its resources and works from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("smolsight-*.whl"))


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
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = archive.read(entry_points).decode()
    assert "[console_scripts]\nsmolsight = app.cli:entry" in text
    assert "[gui_scripts]\nsmolsight-app = app.cli:gui_entry" in text  # no console window on Windows


@pytest.fixture(scope="module")
def fresh_install(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel installed (not editable): its bin folder.

    The dependencies (torch, Qt, …) come from the test environment's site-packages through a
    path file rather than a second multi-gigabyte install; SmolSight itself only from the wheel.
    """
    root = tmp_path_factory.mktemp("fresh")
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return python.parent


@pytest.mark.slow
def test_an_installed_copy_describes_the_sample_photo_from_another_folder(
    fresh_install: Path, tmp_path: Path, tiny_model: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SMOLSIGHT_CONFIG": str(tmp_path / "settings.json")}
    env.pop("PYTHONPATH", None)
    where = subprocess.run(
        [
            fresh_install / "python",
            "-c",
            "import app, app.paths; print(app.__file__); print(app.paths.resource_file('sample.jpg'))",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    site = fresh_install.parent
    assert all(Path(p).is_relative_to(site) for p in where), where  # the installed copy, not the checkout
    done = subprocess.run(
        [
            fresh_install / "smolsight",
            "describe",
            where[1],
            "--model",
            str(tiny_model),
            "--backend",
            "transformers",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_the_installed_gui_command_starts(fresh_install: Path, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONPATH", None)
    shown = subprocess.run(
        [fresh_install / "smolsight-app", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: smolsight gui") and "FILE" in shown.stdout.upper()
