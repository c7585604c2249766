"""The installed way: the real app, another program in front, the system-wide key, and who speaks.

A real X server with a window manager; SmolSight's window opens first, then another program's
window takes the focus. The describe-screen key (Ctrl+Alt+Shift+S) is pressed there. With an
Orca stand-in on a private session bus (under each of Orca's names) the description must reach
Orca's `PresentMessage` and not SmolSight's own voice; with no screen reader, SmolSight's voice
(a stand-in speech-dispatcher) says it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.reading.blank import BLACK
from app.speech.screen_readers import ORCA_SERVICES, OrcaService
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
    wait_for,
    x_server,
)
from tests.screen_readers import OrcaStandIn, orca_standin, private_bus
from tests.speechd import speechd_engine_installed, speechd_standin

OTHER_PROGRAM = """
from PySide6.QtWidgets import QApplication, QLineEdit
app = QApplication([])
box = QLineEdit("a text box in another program")
box.setWindowTitle("Another program")
box.resize(500, 200)
box.show()
box.activateWindow()
app.exec()
"""


@pytest.fixture
def black_picture(tmp_path: Path) -> Path:
    """The source SmolSight narrates: black, so narration says one known sentence (no model needed)."""
    path = tmp_path / "black.png"
    cv2.imwrite(str(path), np.zeros((240, 320, 3), np.uint8))
    return path


@contextmanager
def other_program_in_front(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Another program's window, opened after SmolSight's and active (it has the keyboard)."""
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROGRAM],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        window = find_window("^Another program$", env, 30, other)
        subprocess.run([tool("xdotool"), "windowactivate", "--sync", window], env=env, check=True, timeout=30)
        active = subprocess.run(
            [tool("xdotool"), "getactivewindow", "getwindowname"], env=env, capture_output=True, text=True
        )
        assert active.stdout.strip() == "Another program"  # SmolSight is in the background
        yield other
    finally:
        other.terminate()
        other.communicate(timeout=10)


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("service", [*ORCA_SERVICES, None], ids=["orca-51", "orca-49", "no-screen-reader"])
def test_the_describe_screen_key_is_heard_through_the_screen_reader_from_another_program(
    tmp_path: Path, tiny_model: Path, black_picture: Path, service: OrcaService | None
) -> None:
    if service is None and not speechd_engine_installed():
        pytest.skip("Qt's speech-dispatcher engine is not installed (Debian: libspeechd2)")
    (tmp_path / "settings.json").write_text(
        json.dumps({"model": str(tiny_model), "backend": "transformers"}), encoding="utf-8"
    )  # "Speak with" is left at its default: the screen reader when one runs, else SmolSight's voice
    with ExitStack() as stack:
        display = stack.enter_context(x_server(Screen(1280, 800)))
        bus = stack.enter_context(private_bus())
        speechd = stack.enter_context(speechd_standin("working"))
        orca: OrcaStandIn | None = stack.enter_context(orca_standin(bus, service)) if service else None
        env = app_env(
            tmp_path, **{**display, "DBUS_SESSION_BUS_ADDRESS": bus, "SPEECHD_ADDRESS": speechd.address}
        )
        env.pop("QT_QPA_PLATFORM", None)  # the other program's window must be on the X server too
        app = launch(env, "gui", str(black_picture))
        try:
            heard = orca.messages if orca is not None else speechd.spoken
            wait_for(lambda: BLACK in heard, "the black picture's sentence", app, 90)
            stack.enter_context(other_program_in_front(env))
            before = len(heard)
            subprocess.run([tool("xdotool"), "key", "ctrl+alt+shift+s"], env=env, check=True)
            wait_for(lambda: len(heard) > before, "the description to be heard", app, 60)
            assert "described the screen" in log_text(tmp_path)
            description = heard[before]
            assert description.strip() and description != BLACK
            if orca is not None:
                assert description not in speechd.spoken  # one voice: the screen reader's
                assert BLACK not in speechd.spoken
        finally:
            close(app)


@linux_only
@pytest.mark.slow
def test_over_at_spi_speak_with_is_named_and_no_control_is_unnamed(tmp_path: Path) -> None:
    """What Orca reads of the Settings dialog, through the real accessibility bus."""
    from tests.atspi import INTERACTIVE, AtSpi

    if not Path("/usr/libexec/at-spi-bus-launcher").exists():
        if os.environ.get("SMOLSIGHT_REQUIRE_DESKTOP_TOOLS") == "1":
            pytest.fail("at-spi2-core is not installed; .ci/run installs it")
        pytest.skip("at-spi2-core (the accessibility bus) is not installed")
    (tmp_path / "settings.json").write_text(json.dumps({"output": "text"}), encoding="utf-8")
    with x_server(Screen(1280, 800)) as display, private_bus() as bus:
        env = app_env(
            tmp_path, **{**display, "DBUS_SESSION_BUS_ADDRESS": bus, "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1"}
        )
        app = launch(env, "gui")
        try:
            main = find_window("SmolSight", env, 60, app)
            press(env, main, "ctrl+comma")
            find_window("Settings", env, 30, app)
            atspi = AtSpi(bus)
            try:
                apps: dict[str, tuple[str, str]] = {}

                def registered() -> bool:
                    apps.update(atspi.applications())
                    return "SmolSight" in apps

                wait_for(registered, "SmolSight on the accessibility bus", app, 30)
                nodes = atspi.tree(apps["SmolSight"])
            finally:
                atspi.close()
        finally:
            close(app)
    speak_with = [n for n in nodes if n.role == "combo box" and n.labels == ("Speak with:",)]
    assert len(speak_with) == 1, [n for n in nodes if n.role == "combo box"]
    assert speak_with[0].name == "Nobody (text only)"  # the choice saved in the settings file
    assert "screen reader" in speak_with[0].description
    interactive = [n for n in nodes if n.role in INTERACTIVE]
    assert len(interactive) > 20  # the main window's controls and the whole Settings dialog
    unnamed = [f"{n.role} at depth {n.depth}" for n in interactive if not n.spoken_name]
    assert unnamed == []
