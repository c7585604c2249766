"""An installed (non-editable) SmolSight carries its resources and works from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.mark.slow
def test_an_installed_copy_describes_the_sample_video_from_another_folder(
    wheel: Path, tmp_path: Path, tiny_model: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1"}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import app, app.paths; print(app.__file__); print(app.paths.resource_file('sample.mp4'))",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in where), where  # the installed copy, not the checkout
    sample = Path(where[1])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "describe",
            str(sample),
            "--model",
            str(tiny_model),
            "--max-frames",
            "2",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
