"""Writing files so that a crash, a full disk or a killed process never leaves half a file."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str, *, private: bool = False) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`.

    The file gets the permissions any program's new file gets (the user's umask), or keeps
    those it had; `private` files (settings, which may hold an API key) are the user's alone.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600 if private else 0o666)  # the umask applies, as for any new file
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if not private:
            try:
                os.chmod(tmp, path.stat().st_mode & 0o777)  # a file written over keeps its permissions
            except FileNotFoundError:
                pass
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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
