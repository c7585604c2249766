"""Small things the windows remember between runs that are not settings: folders, window sizes.

Kept in `ui-state.json` beside the settings file, so the settings file holds only what the
user chose in Settings, and tests (which move the settings file) never share it.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.config import default_config_path
from app.files import write_text_atomic


def _start_folder() -> str:
    """Documents or Videos, whichever the system has, else home."""
    from PySide6.QtCore import QStandardPaths

    for kind in (
        QStandardPaths.StandardLocation.MoviesLocation,
        QStandardPaths.StandardLocation.DocumentsLocation,
    ):
        folder = QStandardPaths.writableLocation(kind)
        if folder and Path(folder).is_dir():
            return folder
    return str(Path.home())


class UiState:
    """What the windows remember: folders and sizes.

    The last folder used for each kind of file dialog ("media", "export", "model"), and the
    size each kind of window ("main", "summary") was last closed at.
    """

    def __init__(self, config_path: Path | None = None) -> None:
        self.path = (config_path or default_config_path()).with_name("ui-state.json")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        folders, sizes = data.get("folders"), data.get("sizes")
        self.folders: dict[str, str] = folders if isinstance(folders, dict) else {}
        self.sizes: dict[str, list[int]] = sizes if isinstance(sizes, dict) else {}

    def size(self, kind: str) -> tuple[int, int] | None:
        """The size a window of this kind was last closed at, if one was kept."""
        size = self.sizes.get(kind)
        if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
            return size[0], size[1]
        return None

    def remember_size(self, kind: str, width: int, height: int) -> None:
        """Keep the size a window of this kind was closed at."""
        self.sizes[kind] = [width, height]
        self._save()

    def folder(self, kind: str) -> str:
        """Where a dialog of this kind starts: the last folder used, else Videos/Documents."""
        last = self.folders.get(kind)
        return last if last and Path(last).is_dir() else _start_folder()

    def remember(self, kind: str, chosen: str | Path) -> None:
        """Remember the folder of `chosen` (a file or a folder) for the next dialog of this kind."""
        path = Path(chosen)
        self.folders[kind] = str(path if path.is_dir() else path.parent)
        self._save()

    def _save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path, json.dumps({"folders": self.folders, "sizes": self.sizes}, indent=2))
        except OSError:
            pass  # remembering a folder or a size is a convenience; never an error the user must see
