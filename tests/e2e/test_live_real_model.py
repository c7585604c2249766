"""The live pipeline end to end with the tiny real model, on both backends, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.capture.sources import VideoFileSource
from app.config import EngineSettings
from app.inference.factory import create_backend
from app.inference.model_thread import ModelThread
from app.live.session import LiveSession, NarrationEvent
from tests.conftest import needs_mlx
from tests.fakes import settings_of
from tests.media import write_video


@pytest.mark.parametrize("backend", ["transformers", pytest.param("mlx", marks=needs_mlx)])
def test_narrates_a_video_file_with_the_tiny_model(
    qtbot: QtBot, tiny_model: Path, tmp_path: Path, backend: str
) -> None:
    video = write_video(tmp_path / "cut.mp4", [((200, 30, 30), 2.0), ((30, 30, 200), 2.0)])
    model_thread = ModelThread(lambda: create_backend(EngineSettings(backend=backend, model=str(tiny_model))))  # type: ignore[arg-type]
    session = LiveSession(model_thread, settings_of(interval_s=0.5, buffer_fps=2.0), poll_ms=20)
    events: list[NarrationEvent] = []
    session.narration.connect(events.append)
    try:
        with qtbot.waitSignal(session.model_changed, timeout=120_000, check_params_cb=lambda s: s.ready):
            session.start()
        session.set_source(VideoFileSource(video, speed=2.0))
        qtbot.waitUntil(lambda: len(events) >= 2, timeout=60_000)
    finally:
        assert session.shutdown(timeout=30)
    first = events[0].description
    assert first.stats.prompt_tokens > 64
    assert first.stats.time_to_first_token_s is not None
    assert events[1].description.frame_times[0] >= 1.5  # the blue scene


def narrate(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("smolsight")
    return subprocess.run([str(exe), "narrate", *args], capture_output=True, text=True, timeout=timeout)


def test_cli_narrates_a_video_with_timestamped_lines(tiny_model: Path, tmp_path: Path) -> None:
    video = write_video(tmp_path / "cut.mp4", [((200, 30, 30), 3.0), ((30, 30, 200), 3.0)])
    done = narrate("--source", str(video), "--model", str(tiny_model), "--duration", "5", "--interval", "1")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith("[00:0") for line in lines)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("source", "message"),
    [("webcam:9", "Camera 9 could not be opened"), ("{dir}/missing.mp4", "File not found")],
)
def test_cli_reports_a_missing_camera_or_file(
    tiny_model: Path, tmp_path: Path, source: str, message: str
) -> None:
    done = narrate("--source", source.format(dir=tmp_path), "--model", str(tiny_model), "--duration", "5")
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_reports_an_unreadable_file(tiny_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"\x00" * 500)
    done = narrate("--source", str(bad), "--model", str(tiny_model), "--duration", "5")
    assert done.returncode == 1
    assert "holiday.mp4" in done.stderr and "Traceback" not in done.stderr


def test_cli_stops_cleanly_on_ctrl_c(tiny_model: Path) -> None:
    import signal
    import time

    exe = Path(sys.executable).with_name("smolsight")
    proc = subprocess.Popen(
        [str(exe), "narrate", "--source", "sample", "--model", str(tiny_model)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # wait until narration is running
            if line.startswith("Model ready"):
                break
        time.sleep(1.0)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert time.monotonic() - start < 15
    assert "Stopped." in err and "Traceback" not in err
