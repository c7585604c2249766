"""Launching the real app as a desktop would: helpers shared by the tests that start it on a real X server.

Also the tour of every window at a screen size and scaling (`x_server`, `tour`), used by
tests/e2e/test_real_window.py to check each window's frame lies on the screen, and by
docs/scaling_screens.py for the pictures in docs/screens/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="X11 and freedesktop are Linux's"
)


def tool(name: str) -> str:
    """A system tool the test needs; CI installs them all (.ci/run) and asks for them to be there."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("SMOLSIGHT_REQUIRE_DESKTOP_TOOLS") == "1":
            pytest.fail(f"{name} is not installed; .ci/run installs it")
        pytest.skip(f"{name} is not installed (Debian: desktop-file-utils, xvfb, xdotool, x11-utils)")
    return path


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A launch with its own settings, log and model cache: nothing of the developer's is used.

    `extra` adds to it; a variable in `extra` that only repeats this process's environment
    (an X server's whole environment, say) does not undo the isolation.
    """
    env = {
        **os.environ,
        "SMOLSIGHT_CONFIG": str(tmp_path / "settings.json"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "HF_HUB_CACHE": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
    }
    env.update({name: value for name, value in extra.items() if os.environ.get(name) != value})
    return env


def launch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """The app (`args`: a command and its arguments), started as the menu entry starts it, on real X11."""
    env = {k: v for k, v in env.items() if k != "QT_QPA_PLATFORM"}
    command = [sys.executable, "-m", "app", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def log_text(tmp_path: Path) -> str:
    path = tmp_path / "state" / "SmolSight" / "log" / "smolsight.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def wait_for(
    condition: Callable[[], bool], what: str, process: subprocess.Popen[str], timeout: float = 90
) -> None:
    """Poll `condition()` until true; fail naming `what` if the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"the app ended ({process.returncode}) before {what}: {err[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def close(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C, as from the terminal: the app closes its window and exits 0."""
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail("the app did not close on Ctrl-C")
    assert process.returncode == 0, err
    return out, err


def find_window(
    pattern: str, env: dict[str, str], timeout: float, process: subprocess.Popen[str] | None = None
) -> str:
    """The X window id of the first visible window whose title matches `pattern` (a regex).

    With `process` (the app that should show it), fails at once, with its output, if it ends first.

    Asked again and again rather than with `xdotool search --sync`, which gives up with nothing
    when another window closes while it looks (a dialog going away as the next one opens).
    """
    deadline = time.monotonic() + timeout
    while True:
        found = subprocess.run(
            [tool("xdotool"), "search", "--onlyvisible", "--name", pattern],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if found.stdout.split():
            return found.stdout.split()[0]
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(
                f"the app ended ({process.returncode}) before {pattern!r} appeared: {(out + err)[-3000:]}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"no window titled {pattern!r} appeared within {timeout:.0f} s")
        time.sleep(0.2)


def window_gone(pattern: str, env: dict[str, str], timeout: float = 10) -> None:
    """Wait until no visible window's title matches `pattern`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(
            [tool("xdotool"), "search", "--onlyvisible", "--name", pattern], env=env, capture_output=True
        )
        if not found.stdout.strip():
            return
        time.sleep(0.2)
    pytest.fail(f"the window {pattern!r} did not close")


def press(env: dict[str, str], window: str, *keys: str) -> None:
    """Focus `window` (clicking into it where no window manager hands focus over), then press `keys`."""
    xdotool = tool("xdotool")
    managed = subprocess.run([xdotool, "windowactivate", "--sync", window], env=env, capture_output=True)
    if managed.returncode != 0:  # no window manager: a click gives the window the keyboard
        subprocess.run(
            [xdotool, "mousemove", "--window", window, "200", "300", "click", "1"], env=env, check=True
        )
    time.sleep(0.3)
    subprocess.run([xdotool, "key", *keys], env=env, check=True)


@dataclass(frozen=True)
class Screen:
    """A screen as a low-vision user may run it: its pixels and the desktop's scaling."""

    width: int
    height: int
    scale: float = 1.0

    @property
    def name(self) -> str:
        """E.g. '1920x1080 at 200 %'."""
        return f"{self.width}x{self.height} at {self.scale:.0%}"


@contextmanager
def xvfb(width: int = 1280, height: int = 800) -> Iterator[str]:
    """A real X server (Xvfb) on a free display number, `width`×`height`; its DISPLAY value."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [
            tool("Xvfb"),
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
            # no reset when the last client leaves: meanwhile it refuses connections, and an app
            # started right after another quit would find "no display"
            "-noreset",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()  # Xvfb writes its display number when it is ready
    try:
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def x_server(screen: Screen, *, window_manager: bool = True) -> Iterator[dict[str, str]]:
    """A real X server (Xvfb) of `screen`'s size, with openbox framing windows; its environment.

    The environment's QT_SCALE_FACTOR is the screen's scaling: 2 on 1920×1080 is the 960×540
    logical screen of a laptop at 200 %.
    """
    with xvfb(screen.width, screen.height) as display:
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
        env.update(DISPLAY=display, QT_SCALE_FACTOR=str(screen.scale), XDG_SESSION_TYPE="x11")
        manager = None
        try:
            if window_manager:
                manager = subprocess.Popen(
                    [tool("openbox")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                deadline = time.monotonic() + 15
                while (
                    subprocess.run(
                        [tool("xprop"), "-root", "_NET_SUPPORTING_WM_CHECK"],
                        env=env,
                        capture_output=True,
                        text=True,
                    ).stdout.count("window id")
                    == 0
                ):
                    assert time.monotonic() < deadline, "openbox did not start"
                    time.sleep(0.1)
            yield env
        finally:
            if manager is not None:
                manager.terminate()
                manager.wait(timeout=10)


def frame_of(window: str, env: dict[str, str]) -> tuple[int, int, int, int]:
    """Where `window` is on the screen with its window manager's frame: x, y, width, height."""
    info = subprocess.run([tool("xwininfo"), "-id", window], env=env, capture_output=True, text=True).stdout
    fields = dict(line.strip().split(":", 1) for line in info.splitlines() if ":" in line)
    x, y = int(fields["Absolute upper-left X"]), int(fields["Absolute upper-left Y"])
    width, height = int(fields["Width"]), int(fields["Height"])
    extents = subprocess.run(
        [tool("xprop"), "-id", window, "_NET_FRAME_EXTENTS"], env=env, capture_output=True, text=True
    ).stdout
    left = right = top = bottom = 0
    if "=" in extents:
        left, right, top, bottom = (int(v) for v in extents.split("=", 1)[1].split(","))
    return x - left, y - top, width + left + right, height + top + bottom


# The windows a person opens from the main window, each by its key, and the title it opens with.
DIALOGS = (
    ("settings", ("ctrl+comma",), "^SmolSight settings"),
    ("shortcuts", ("F1",), "^Keyboard shortcuts"),
    ("about", ("shift+F1",), "^About SmolSight"),
    ("file-dialog", ("ctrl+o",), "^Open a video or image"),
)


def tour(
    env: dict[str, str], video: Path, shoot: Callable[[str], None] | None = None
) -> dict[str, tuple[int, int, int, int]]:
    """Open every window of the running app in turn; the frame of each, by name.

    The main window, Settings, the shortcuts list, About and a file dialog, each closed with
    Esc; then a summary of `video` (through the summarize file dialog), left open. `shoot(name)`
    is called while each is open (a screenshot, for the docs).
    """
    shoot = shoot or (lambda _name: None)
    main = find_window("^SmolSight$", env, 30)
    time.sleep(1)
    frames = {"main": frame_of(main, env)}
    shoot("main")
    for name, keys, title in DIALOGS:
        press(env, main, *keys)
        window = find_window(title, env, 20)
        time.sleep(0.8)  # the screen fit's second look, once the window manager has framed it
        frames[name] = frame_of(window, env)
        shoot(name)
        subprocess.run([tool("xdotool"), "key", "Escape"], env=env, check=True)
        window_gone(title, env)
    press(env, main, "ctrl+shift+o")
    find_window("^Summarize a video", env, 20)
    time.sleep(0.5)
    subprocess.run([tool("xdotool"), "type", "--delay", "10", str(video)], env=env, check=True)
    for _ in range(3):  # the first Return may only take the file name completer's suggestion
        time.sleep(0.5)
        subprocess.run([tool("xdotool"), "key", "Return"], env=env, check=True)
        with contextlib.suppress(pytest.fail.Exception):
            window_gone("^Summarize a video", env, timeout=2)
            break
    summary = find_window("^Summary of", env, 60)
    time.sleep(0.8)
    frames["summary"] = frame_of(summary, env)
    shoot("summary")
    return frames
