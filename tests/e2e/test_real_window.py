"""The real app on a real X server: never frozen by speech, always quits cleanly, says why it can't open.

Each test starts `python -m app` as a desktop would (Xvfb, the X11 platform plug-in), with its
own settings and log, and drives it with xdotool. Speech goes to stand-in speech-dispatchers
(tests/speechd.py), never a real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.exit_codes import ExitCode
from app.paths import APP_NAME
from app.ui.display import window_problem
from tests.desktop import (
    Screen,
    app_env,
    close,
    find_window,
    launch,
    linux_only,
    log_text,
    press,
    tool,
    tour,
    wait_for,
    x_server,
)
from tests.media import write_video
from tests.speechd import speechd_engine_installed, speechd_standin


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["silent", "hangup"])
def test_the_window_opens_and_answers_keys_when_speech_never_answers(
    tmp_path: Path, x_display: str, mode: str
) -> None:
    if not speechd_engine_installed():
        if os.environ.get("SMOLSIGHT_REQUIRE_DESKTOP_TOOLS") == "1":
            pytest.fail("libspeechd is not installed; .ci/run installs it")
        pytest.skip("libspeechd is not installed (Debian: libspeechd2)")
    with speechd_standin(mode) as standin:  # type: ignore[arg-type]
        env = app_env(tmp_path, DISPLAY=x_display, SPEECHD_ADDRESS=standin.address)
        started = time.monotonic()
        app = launch(env)
        try:
            window = find_window(f"^{APP_NAME}$", env, timeout=10)
            assert time.monotonic() - started < 10, "the window must be up within 10 s"
            press(env, window, "ctrl+comma")
            find_window("^SmolSight settings", env, timeout=10)  # the keys work
            subprocess.run([tool("xdotool"), "key", "Escape"], env=env, check=True)
            wait_for(
                lambda: "speech is unavailable" in log_text(tmp_path), "speech was found broken", app, 20
            )
            assert standin.connections >= 1  # it really tried the stand-in
        finally:
            out, err = close(app)
    assert err.strip() == "" and out.strip() == ""


@linux_only
@pytest.mark.slow
def test_quitting_the_real_window_twenty_times_is_clean(tmp_path: Path, x_display: str) -> None:
    for attempt in range(20):
        run = tmp_path / f"run{attempt}"
        run.mkdir()
        env = app_env(run, DISPLAY=x_display)
        app = launch(env)
        try:
            window = find_window(f"^{APP_NAME}$", env, timeout=30)
            time.sleep(0.5 * (attempt % 3))  # quit while loading, just after, and later
            press(env, window, "ctrl+q")
            _, err = app.communicate(timeout=30)
        finally:
            if app.poll() is None:
                app.kill()
                app.communicate()  # reaps it and closes its pipes
        assert app.returncode == 0, f"quit {attempt + 1} ended with {app.returncode}: {err[-2000:]}"
        assert "Fatal" not in err and err.strip() == "", f"quit {attempt + 1}: {err[-2000:]}"


@linux_only
@pytest.mark.parametrize(
    ("display", "says"),
    [(None, "there is no display to open the window on"), (":987", "the display :987 does not answer")],
)
def test_without_a_usable_display_the_app_says_why_in_one_line(
    tmp_path: Path, display: str | None, says: str
) -> None:
    env = app_env(tmp_path)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    if display:
        env["DISPLAY"] = display
    done = subprocess.run([sys.executable, "-m", "app"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == ExitCode.NO_DISPLAY
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"smolsight: {says}"), done.stderr


@linux_only
def test_a_missing_system_library_is_named(tmp_path: Path) -> None:
    """A platform plug-in that links a library this system lacks, as Qt's X11 plug-in would."""
    gcc = tool("gcc")
    (tmp_path / "dep.c").write_text("int smolsight_dep(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text(
        "int smolsight_dep(void);\nint plugin(void) { return smolsight_dep(); }\n"
    )
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-o", "libsmolsight-dep.so.0", "dep.c"], cwd=tmp_path, check=True
    )
    (tmp_path / "platforms").mkdir()
    subprocess.run(
        [
            gcc,
            "-shared",
            "-fPIC",
            "-o",
            "platforms/libqxcb.so",
            "plugin.c",
            "-L.",
            "-l:libsmolsight-dep.so.0",
        ],
        cwd=tmp_path,
        check=True,
    )
    (tmp_path / "libsmolsight-dep.so.0").unlink()
    problem = window_problem({"DISPLAY": ":0"}, plugins=tmp_path)
    assert problem == (
        "the window can't open: Qt's X11 support needs libsmolsight-dep.so.0, which is not installed"
    )


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize(
    "screen",
    [Screen(1920, 1080, 2.0), Screen(1024, 768), Screen(1280, 800)],
    ids=["960x540-logical-at-200%", "1024x768", "1280x800"],
)
def test_every_window_fits_the_screen_at_the_largest_text(
    tmp_path: Path, tiny_model: Path, screen: Screen
) -> None:
    """High contrast, the largest text, a window manager framing each window: every frame on screen."""
    (tmp_path / "settings.json").write_text(
        json.dumps(
            {
                "theme": "high_contrast",
                "caption_font_pt": 96,
                "output": "text",
                "model": str(tiny_model),
                "backend": "transformers",
            }
        ),
        encoding="utf-8",
    )
    video = write_video(tmp_path / "walk.mp4", [((200, 40, 40), 2.0), ((40, 40, 200), 2.0)])
    with x_server(screen) as display:
        env = app_env(tmp_path, **display)
        app = launch(env)
        try:
            wait_for(lambda: "loaded the model" in log_text(tmp_path), "the model to load", app)
            frames = tour(env, video)
        finally:
            close(app)
    assert set(frames) == {"main", "settings", "shortcuts", "about", "file-dialog", "summary"}
    off = {
        name: (x, y, w, h)
        for name, (x, y, w, h) in frames.items()
        if x < 0 or y < 0 or x + w > screen.width or y + h > screen.height
    }
    assert not off, f"past the edge of the {screen.name} screen (x, y, width, height): {off}"
    assert "needs at least" not in log_text(tmp_path)  # no window was larger than the screen allows
