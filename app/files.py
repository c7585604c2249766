"""Writing files so that a crash, a full disk or a killed process never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable_folder(folder: Path) -> str | None:
    """Why files can't be written into `folder` (created if missing), or None when they can."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"can't create the folder {folder} ({exc.strerror or exc})"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".smolsight-write-test.", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return f"can't write into {folder} ({exc.strerror or exc})"
    return None
