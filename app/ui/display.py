"""Whether a window can open here, said in one line when it can't.

Without a display, or without one of the system libraries Qt's X11 plug-in needs, Qt aborts
the whole process with its reasons in the log only. Asked before the QApplication is made,
these checks put the reason on the terminal in one line, with the package that is missing.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping
from pathlib import Path

# Libraries Qt's X11 plug-in loads, and the Debian/Ubuntu package that brings each.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
# Platforms people choose on purpose that need no display (tests, remote sessions).
HEADLESS = ("offscreen", "minimal", "vnc", "linuxfb", "eglfs", "vkkhrdisplay", "minimalegl")


def missing_library(plugin: Path) -> str | None:
    """The first shared library `plugin` needs that this system lacks, or None when it loads."""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        first = str(exc).split(":", 1)[0].strip()
        return Path(first).name if first else str(exc)
    return None


def x_server_answers(display: str) -> bool:
    """Whether the X server named by `display` accepts a connection."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True  # can't ask; Qt will say
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return bool(connection) and xcb.xcb_connection_has_error(connection) == 0
    finally:
        if connection:
            xcb.xcb_disconnect(connection)


def window_problem(env: Mapping[str, str] | None = None, plugins: Path | None = None) -> str | None:
    """Why the desktop app can't open a window here (one sentence), or None when it can."""
    if not sys.platform.startswith("linux"):
        return None  # Windows and macOS always have their one platform
    env = os.environ if env is None else env
    chosen = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen in HEADLESS:
        return None
    x11, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if not x11 and not wayland:
        return (
            "there is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): "
            "start SmolSight from a desktop session, or use its command-line tools (smolsight --help)"
        )
    if chosen == "wayland" or (wayland and chosen != "xcb"):
        return None  # Qt tries Wayland first; if that fails it says why itself
    if plugins is None:
        from PySide6.QtCore import QLibraryInfo

        plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    plugin = plugins / "platforms" / "libqxcb.so"
    if not x11:
        return "the window can't open: Qt is asked for X11 (QT_QPA_PLATFORM=xcb) but DISPLAY is not set"
    if plugin.exists():
        missing = missing_library(plugin)
        if missing:
            package = DEBIAN_PACKAGES.get(missing)
            fix = f" (Debian/Ubuntu: sudo apt-get install {package})" if package else ""
            return f"the window can't open: Qt's X11 support needs {missing}, which is not installed{fix}"
    if not x_server_answers(x11):
        return f"the display {x11} does not answer (is the X server running, and may this user use it?)"
    return None
