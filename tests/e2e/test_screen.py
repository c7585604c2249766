"""The screen as a source: narrated and described on a real X server, SmolSight's own window left out.

The pictures come from real captures (mss) of an Xvfb screen on which another program
(ImageMagick's `display`) shows a picture; the model is the tiny test model or a recording fake.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.capture.screen import Rect, ScreenSource, paint_out, screen_problem
from tests.commands import smolsight
from tests.desktop import (
    Screen,
    app_env,
    close,
    find_window,
    launch,
    linux_only,
    log_text,
    tool,
    wait_for,
    x_server,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "resources" / "sample.jpg"


@pytest.fixture
def screen_with_a_picture(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A real X screen (no window manager) with another program showing a magenta picture at (700, 100)."""
    picture = tmp_path / "magenta.png"
    Image.new("RGB", (300, 200), (255, 0, 255)).save(picture)
    with x_server(Screen(1280, 800), window_manager=False) as env:
        viewer = subprocess.Popen(
            [tool("display"), "-geometry", "+700+100", str(picture)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            find_window("magenta", env, 15)
            yield env, picture
        finally:
            viewer.terminate()
            viewer.wait(10)


def test_painting_out_covers_only_what_overlaps() -> None:
    image = np.full((100, 200, 3), 255, np.uint8)
    region = Rect(1000, 500, 200, 100)  # where the capture was taken on the screen
    paint_out(image, region, [Rect(1150, 450, 100, 100), Rect(0, 0, 10, 10)])
    assert image[:50, 150:].max() == 0  # the overlapping corner
    assert image[50:, :].min() == 255 and image[:, :150].min() == 255  # the rest untouched


def test_without_a_display_there_is_one_clear_sentence() -> None:
    assert screen_problem({}) == (
        "there is no screen to capture here (DISPLAY is not set): run it in a desktop session"
    )
    assert "Wayland" in (screen_problem({"WAYLAND_DISPLAY": "wayland-0"}) or "")
    # XWayland's DISPLAY does not help: native Wayland windows would come out black.
    assert "Wayland" in (screen_problem({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}) or "")
    assert screen_problem({"DISPLAY": ":0"}) is None


@linux_only
def test_a_screen_source_captures_what_is_shown_and_paints_out_what_it_is_told(
    screen_with_a_picture: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, _ = screen_with_a_picture
    monkeypatch.setenv("DISPLAY", env["DISPLAY"])
    hidden: list[Rect] = []
    source = ScreenSource(fps=10, exclude=lambda: hidden)
    source.start()

    def magenta() -> np.ndarray:
        frame, _ = source.latest.get()
        if frame is None:
            return np.zeros((0, 2), int)
        assert frame.image.shape == (800, 1280, 3)
        return np.argwhere((frame.image == (255, 0, 255)).all(axis=2))

    try:
        deadline = time.monotonic() + 10
        while len(magenta()) < 300 * 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        found = magenta()
        assert len(found) == 300 * 200  # the other program's whole picture
        (top, left), (bottom, right) = found.min(axis=0), found.max(axis=0)
        hidden.append(Rect(int(left), int(top), int(right - left + 1), int(bottom - top + 1)))
        time.sleep(0.5)
        assert len(magenta()) == 0  # painted out, every pixel of it
    finally:
        assert source.stop()
    assert source.captures >= 2 and source.capture_s / source.captures < 0.5


@linux_only
def test_a_monitor_that_does_not_exist_lists_those_that_do(
    screen_with_a_picture: tuple[dict[str, str], Path], tiny_model: Path
) -> None:
    env, _ = screen_with_a_picture
    done = smolsight(
        "narrate", "--source", "screen:3", "--model", str(tiny_model), "--duration", "2", env=env
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["smolsight: there is no screen 3; this computer has screen:1"]


@linux_only
@pytest.mark.slow
def test_narrate_the_screen_prints_descriptions_and_ends_on_time(
    screen_with_a_picture: tuple[dict[str, str], Path], tiny_model: Path
) -> None:
    env, _ = screen_with_a_picture
    done = smolsight(
        "narrate", "--source", "screen", "--model", str(tiny_model), "--backend", "transformers",
        "--duration", "10", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith("[00:") for line in lines)
    assert "Loading the model and opening The screen" in done.stderr and "Traceback" not in done.stderr


def test_narrate_the_screen_without_a_display_is_one_line(tiny_model: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = smolsight("narrate", "--source", "screen", "--model", str(tiny_model), "--duration", "5", env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "smolsight: there is no screen to capture here (DISPLAY is not set): run it in a desktop session"
    ]


@linux_only
@pytest.mark.slow  # real processes on a real X server (about 30 s here)
def test_describe_the_screen_the_active_window_and_the_clipboard(
    screen_with_a_picture: tuple[dict[str, str], Path], tiny_model: Path, tmp_path: Path
) -> None:
    env, _ = screen_with_a_picture
    model = ("--model", str(tiny_model), "--backend", "transformers", "--max-tokens", "8")
    for source in ("screen", "screen:1", "window"):
        done = smolsight("describe", "--source", source, *model, env=env)
        assert done.returncode == 0 and done.stdout.strip(), (source, done.stderr)
    empty = smolsight("describe", "--clipboard", *model, env=env)
    assert empty.returncode == 1
    assert empty.stderr.strip() == (
        "smolsight: the clipboard is empty: copy a picture (or take a screenshot), then try again"
    )
    owner = subprocess.Popen(  # another program copies a picture and keeps the clipboard
        [sys.executable, "-c", CLIPBOARD_OWNER, str(SAMPLE)],
        env={k: v for k, v in env.items() if k != "QT_QPA_PLATFORM"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "copied"
        done = smolsight("describe", "--clipboard", *model, "--stats", env=env)
        assert done.returncode == 0 and done.stdout.strip(), done.stderr
    finally:
        owner.terminate()
        owner.communicate(timeout=10)
    none = smolsight(
        "describe", "--source", "screen", *model, env={k: v for k, v in env.items() if k != "DISPLAY"}
    )
    assert none.returncode == 1 and len(none.stderr.strip().splitlines()) == 1


CLIPBOARD_OWNER = """
import sys
from PySide6.QtGui import QGuiApplication, QImage
app = QGuiApplication([])
app.clipboard().setImage(QImage(sys.argv[1]))
print("copied", flush=True)
app.exec()
"""


@linux_only
def test_smolsights_own_window_is_never_in_what_is_narrated(
    screen_with_a_picture: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, _ = screen_with_a_picture
    done = subprocess.run(
        [sys.executable, "-m", "tests.probes.own_window_left_out", str(tmp_path)],
        env={**{k: v for k, v in env.items() if k != "QT_QPA_PLATFORM"}, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["pictures"] >= 1
    assert report["plain_capture_own_area_brightest"] > 0  # the window really is on the screen
    assert report["own_area_brightest"] == [0] * report["pictures"]  # ...and never in what the model saw
    assert all(count == 300 * 200 for count in report["magenta_pixels"])  # the other program's window is


@linux_only
@pytest.mark.slow
def test_a_system_wide_key_describes_the_active_window_from_the_background(
    tmp_path: Path, tiny_model: Path
) -> None:
    (tmp_path / "settings.json").write_text(
        json.dumps({"model": str(tiny_model), "backend": "transformers", "output": "text"}), encoding="utf-8"
    )
    with x_server(Screen(1280, 800), window_manager=False) as display:
        env = app_env(tmp_path, **display)
        app = launch(env)
        try:
            wait_for(lambda: "loaded the model" in log_text(tmp_path), "the model to load", app)
            # Focus is on the root window: SmolSight is in the background; the key is pressed anyway.
            subprocess.run([tool("xdotool"), "key", "ctrl+alt+shift+w"], env=env, check=True)
            wait_for(lambda: "describing the active window" in log_text(tmp_path), "the key to act", app, 20)
            subprocess.run([tool("xdotool"), "key", "ctrl+alt+shift+s"], env=env, check=True)
            wait_for(lambda: "describing the screen" in log_text(tmp_path), "the key to act", app, 20)
        finally:
            close(app)
