"""Launching the real app as a desktop would: helpers shared by the tests that start it on a real X server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
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
    """A launch with its own settings, log and model cache: nothing of the developer's is used."""
    env = {
        **os.environ,
        "SMOLSIGHT_CONFIG": str(tmp_path / "settings.json"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "HF_HUB_CACHE": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        **extra,
    }
    return env


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
