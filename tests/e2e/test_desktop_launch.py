"""Launching like a desktop app.

The menu entry and icons, the Exec line on a real X server, one instance per user, the
app-bundle layout, and the macOS Info.plist from the packager's configuration.
"""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from app.desktop_entry import exec_command
from app.paths import APP_ID, APP_NAME
from tests.desktop import app_env, close, linux_only, log_text, tool, wait_for

ROOT = Path(__file__).resolve().parents[2]
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


@linux_only
def test_the_menu_entry_installs_valid_with_every_icon_size_and_removes(tmp_path: Path) -> None:
    validate = tool("desktop-file-validate")
    env = app_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "app", "desktop-entry", "install"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    data = tmp_path / "data"
    desktop = data / "applications" / f"{APP_ID}.desktop"
    assert str(desktop) in done.stdout.splitlines()
    checked = subprocess.run([validate, str(desktop)], capture_output=True, text=True)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr

    entry = desktop.read_text(encoding="utf-8")
    assert f"Icon={APP_ID}\n" in entry and f"StartupWMClass={APP_NAME}\n" in entry
    command = exec_command(desktop)
    assert os.access(command[0], os.X_OK), command  # an installed program, not a path into a checkout
    for size in ICON_SIZES:
        png = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        with Image.open(png) as image:
            assert image.size == (size, size) and image.mode == "RGBA", png
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()

    removed = subprocess.run(
        [sys.executable, "-m", "app", "desktop-entry", "remove"], env=env, capture_output=True, text=True
    )
    assert removed.returncode == 0, removed.stderr
    assert not desktop.exists()
    assert not list((data / "icons").rglob(f"{APP_ID}.*"))


@linux_only
@pytest.mark.slow
def test_the_menu_entrys_exec_line_opens_the_window_with_its_icon(tmp_path: Path, x_display: str) -> None:
    xdotool, xprop = tool("xdotool"), tool("xprop")
    env = app_env(tmp_path, DISPLAY=x_display)
    env.pop("QT_QPA_PLATFORM", None)  # the real X11 platform, as a desktop starts it
    subprocess.run([sys.executable, "-m", "app", "desktop-entry", "install"], env=env, check=True)
    command = exec_command(tmp_path / "data" / "applications" / f"{APP_ID}.desktop")

    app = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found = subprocess.run(
            [xdotool, "search", "--sync", "--onlyvisible", "--name", f"^{APP_NAME}$"],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        window = found.stdout.split()[0]
        props = subprocess.run(
            [xprop, "-len", "50000000", "-id", window, "WM_CLASS", "_NET_WM_ICON"],
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        # The desktop matches the window to the menu entry (StartupWMClass) and shows our icon.
        assert f'"{APP_NAME}"' in props.splitlines()[0], props[:300]
        assert "Icon (16 x 16)" in props and "Icon (512 x 512)" in props, props[:300]
    finally:
        if app.poll() is None:
            _, err = close(app)
            assert err.strip() == "", err  # a desktop launch has nobody reading a terminal
    assert "listening for later launches" in log_text(tmp_path)


@pytest.mark.slow
def test_a_second_launch_brings_the_first_forward_with_its_file_and_loads_no_model(
    tmp_path: Path, tiny_model: Path
) -> None:
    (tmp_path / "settings.json").write_text(
        json.dumps({"model": str(tiny_model), "backend": "transformers", "output": "text"}), encoding="utf-8"
    )
    env = app_env(tmp_path, QT_QPA_PLATFORM="offscreen")
    first = subprocess.Popen(
        [sys.executable, "-m", "app"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(
            lambda: "loaded the model" in log_text(tmp_path) and "listening" in log_text(tmp_path),
            "the first window loaded its model",
            first,
        )
        photo = tmp_path / "my photo.jpg"
        shutil.copyfile(ROOT / "resources" / "sample.jpg", photo)
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "app", "gui", str(photo)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.monotonic() - started
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == "" and second.stderr.strip() == ""
        wait_for(lambda: "source: File: my photo.jpg" in log_text(tmp_path), "the file was opened", first)
        text = log_text(tmp_path)
        assert f"another launch asked to come forward and open {photo}" in text
        assert "already open: brought it forward" in text
        assert text.count("loaded the model") == 1, "the second launch must not load a model"
        assert first.poll() is None, "the first window stays open"
        assert took < 30, f"the hand-over took {took:.1f} s"  # generous: it is a socket round trip
    finally:
        if first.poll() is None:
            close(first)


def test_each_settings_file_has_its_own_instance() -> None:
    """Tests and people with two settings files may run two windows; one file means one window."""
    from app.ui.single_instance import server_name

    assert server_name(Path("/a/settings.json")) == server_name(Path("/a/settings.json"))
    assert server_name(Path("/a/settings.json")) != server_name(Path("/b/settings.json"))


def test_hand_over_reports_when_no_instance_is_running(qapp: object) -> None:
    from app.ui.single_instance import hand_over, server_name

    assert hand_over(server_name(Path("/nonexistent/settings.json")), None) is False


def test_an_app_bundle_finds_its_resources_beside_the_code(tmp_path: Path) -> None:
    """Briefcase copies app/ and resources/ side by side (pyproject `sources`); no package metadata."""
    bundle = tmp_path / "SmolSight.app" / "Contents" / "Resources" / "app"
    shutil.copytree(ROOT / "app", bundle / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "resources", bundle / "resources", ignore=shutil.ignore_patterns("__pycache__"))
    found = subprocess.run(
        [
            sys.executable,
            "-S",  # no site-packages: only the bundle's copy can be imported
            "-c",
            "import app.paths as p; print(p.__file__); print(p.resource_file('sample.mp4'));"
            "print(len(p.icon_files()))",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(bundle), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    module, sample, icons = found.stdout.split()
    assert Path(module).is_relative_to(bundle)
    assert Path(sample) == bundle / "resources" / "sample.mp4" and Path(sample).is_file()
    assert int(icons) == len(ICON_SIZES)


def test_the_macos_bundle_asks_for_the_camera_in_plain_words(tmp_path: Path) -> None:
    """The Info.plist entries Briefcase writes, computed by Briefcase itself from pyproject.toml.

    Briefcase renders Info.plist from its macOS template (downloaded at `briefcase create`,
    which needs the network): fixed keys from the app's bundle identifier and name, then one
    entry per item of the permissions context, through its own `plist_value` filter. This test
    runs the same parsing, permission mapping and filter, then reads the result with plistlib.
    """
    pytest.importorskip("briefcase")
    from briefcase.config import DraftAppConfig, FinalizedAppConfig, parse_config
    from briefcase.console import Console
    from briefcase.integrations.cookiecutter import PListExtension
    from briefcase.platforms.macOS.app import macOSAppCreateCommand
    from jinja2 import Environment

    console = Console()
    _, apps = parse_config(ROOT / "pyproject.toml", platform="macOS", output_format="app", console=console)
    assert list(apps) == ["app"], "the bundle runs `python -m app`: Briefcase's app name is our package"
    app = FinalizedAppConfig(DraftAppConfig(**apps["app"]))
    command = macOSAppCreateCommand(console=console, base_path=ROOT, data_path=tmp_path / "briefcase")
    context = command.permissions_context(app, command._x_permissions(app))

    template = Environment(extensions=[PListExtension]).from_string(
        '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n'
        "<key>CFBundleIdentifier</key><string>{{ bundle_identifier }}</string>\n"
        "<key>CFBundleName</key><string>{{ formal_name }}</string>\n"
        "<key>CFBundleIconFile</key><string>{{ app_name }}.icns</string>\n"
        "{% for key, value in info.items() %}<key>{{ key }}</key>{{ value|plist_value }}\n{% endfor %}"
        "</dict>\n</plist>\n"
    )
    plist = plistlib.loads(
        template.render(
            bundle_identifier=app.bundle_identifier,
            formal_name=app.formal_name,
            app_name=app.app_name,
            info=context["info"],
        ).encode()
    )
    assert plist["CFBundleIdentifier"] == "io.github.smolsight.app"
    assert plist["CFBundleName"] == "SmolSight"
    camera = plist["NSCameraUsageDescription"]
    assert "camera" in camera and "stay on this computer" in camera
    assert plist["LSApplicationCategoryType"] == "public.app-category.utilities"
    assert context["entitlements"]["com.apple.security.device.camera"] is True
    assert (ROOT / f"{app.icon}.icns").is_file() and (ROOT / f"{app.icon}.ico").is_file()
    assert app.universal_build is False  # PyTorch and MLX ship Apple Silicon wheels only
    assert any(r.startswith("mlx-vlm") and "darwin" in r for r in app.requires)


def test_the_macos_workflow_builds_the_bundle_and_the_readme_points_to_it() -> None:
    import yaml

    path = ROOT / ".github" / "workflows" / "macos-app.yml"
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    job = workflow["jobs"]["app"]
    assert job["runs-on"].startswith("macos")
    script = "\n".join(step.get("run", "") for step in job["steps"])
    for stage in ("create", "build", "package"):
        assert f"briefcase {stage} macOS app" in script
    assert "NSCameraUsageDescription" in script  # the built bundle is checked, not only configured
    assert ".github/workflows/macos-app.yml" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_app_names_itself_and_carries_its_icon(qapp: object) -> None:
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QApplication

    from app import __version__
    from app.ui.app import set_identity

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    set_identity(app)
    assert (app.applicationName(), app.applicationVersion()) == (APP_NAME, __version__)
    assert app.desktopFileName() == APP_ID  # Wayland docks match the window to the menu entry by this
    sizes = app.windowIcon().availableSizes()
    assert QSize(16, 16) in sizes and QSize(512, 512) in sizes


def test_about_says_version_model_engine_and_licence() -> None:
    from app import __version__
    from app.inference.types import BackendInfo
    from app.ui.dialogs import about_text

    before = about_text(None)
    assert f"SmolSight {__version__}" in before and "not loaded yet" in before and "Apache-2.0" in before
    loaded = about_text(BackendInfo("openvino", "/models/SmolVLM2-500M-Video-Instruct", "cpu", "int8"))
    assert "Model: SmolVLM2-500M-Video-Instruct" in loaded
    assert "Engine: openvino on cpu (int8)" in loaded
