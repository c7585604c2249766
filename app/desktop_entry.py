"""`smolsight desktop-entry install|remove`: SmolSight in the Linux application menu.

Writes a freedesktop `.desktop` file into `$XDG_DATA_HOME/applications` and the icon into the
hicolor theme (`$XDG_DATA_HOME/icons/hicolor/<size>/apps`), as the Desktop Entry and Icon
Theme specifications describe; nothing outside the user's own data folder is touched.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from app.paths import APP_ID, APP_NAME, icon_files, resource_file

GUI_COMMAND = "smolsight-app"


def data_home() -> Path:
    """$XDG_DATA_HOME, or ~/.local/share."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def gui_command() -> list[str]:
    """How to start the desktop app installed with this Python: `smolsight-app`, else `python -m app`."""
    beside = Path(sys.executable).with_name(GUI_COMMAND + (".exe" if os.name == "nt" else ""))
    if beside.exists():
        return [str(beside)]
    found = shutil.which(GUI_COMMAND)
    if found:
        return [found]
    return [sys.executable, "-m", "app"]


def desktop_file_text(command: list[str]) -> str:
    """The `.desktop` file for `command` (it takes a file to open as its argument)."""
    exec_line = " ".join(_desktop_quote(part) for part in command) + " %f"
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.4",
            "Name=SmolSight",
            "GenericName=Scene describer",
            "Comment=Says what the camera or a video shows, on this computer only",
            f"Exec={exec_line}",
            f"TryExec={command[0]}",
            f"Icon={APP_ID}",
            "Terminal=false",
            "Categories=Utility;Accessibility;",
            "Keywords=blind;low vision;describe;camera;narration;screen reader;",
            "MimeType=video/mp4;video/webm;video/x-matroska;video/quicktime;image/png;image/jpeg;image/webp;",
            "StartupNotify=true",
            f"StartupWMClass={APP_NAME}",  # X11 WM_CLASS; Wayland matches the file name
            "",
        ]
    )


def _desktop_quote(part: str) -> str:
    """Quote an Exec argument as the Desktop Entry specification asks."""
    if not any(c in part for c in " \t\n\"'\\><~|&;$*?#()`"):
        return part
    escaped = part.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def _targets(home: Path) -> tuple[Path, list[tuple[Path, Path]]]:
    desktop = home / "applications" / f"{APP_ID}.desktop"
    icons = [
        (png, home / "icons" / "hicolor" / f"{size}x{size}" / "apps") for size, png in icon_files().items()
    ]
    icons.append((resource_file("icons", "smolsight.svg"), home / "icons" / "hicolor" / "scalable" / "apps"))
    return desktop, icons


def install(home: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the menu entry and the icons; the files written."""
    home = home or data_home()
    desktop, icons = _targets(home)
    written = []
    for source, folder in icons:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{APP_ID}{source.suffix}"
        shutil.copyfile(source, target)
        written.append(target)
    desktop.parent.mkdir(parents=True, exist_ok=True)
    desktop.write_text(desktop_file_text(command or gui_command()), encoding="utf-8")
    written.append(desktop)
    _refresh(home)
    return written


def remove(home: Path | None = None) -> list[Path]:
    """Remove the menu entry and the icons; the files removed."""
    home = home or data_home()
    desktop, icons = _targets(home)
    removed = []
    for path in [desktop, *(folder / f"{APP_ID}{source.suffix}" for source, folder in icons)]:
        if path.exists():
            path.unlink()
            removed.append(path)
    _refresh(home)
    return removed


def _refresh(home: Path) -> None:
    """Tell the desktop the menu changed, where the tools for that are installed (they are optional)."""
    for command in (
        ["update-desktop-database", str(home / "applications")],
        ["gtk-update-icon-cache", "-q", "-t", str(home / "icons" / "hicolor")],
    ):
        if shutil.which(command[0]):
            subprocess.run(command, capture_output=True, check=False)


def exec_command(desktop_file: Path) -> list[str]:
    """The command a `.desktop` file's Exec line runs (field codes such as %f left out)."""
    for line in desktop_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            return [part for part in shlex.split(line[5:]) if not part.startswith("%")]
    raise ValueError(f"{desktop_file} has no Exec line")
