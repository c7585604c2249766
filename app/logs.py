"""Where SmolSight's log goes: every detail to a log file, one plain line to the terminal.

The desktop app and every command set it up the same way (`setup_logging`). An unexpected
failure on the model thread is logged with its traceback, and the traceback goes only to the
file: the person at the terminal or the window gets the one sentence the command or the window
says about it (with the log's path), never a Python traceback.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from app.plain_text import one_line, shown

__all__ = ["log_file", "setup_logging"]

_HANDLER_NAME = "smolsight"


def log_file() -> Path:
    """Where SmolSight writes its log (technical details of every problem)."""
    from platformdirs import user_log_dir

    return Path(user_log_dir("SmolSight", appauthor=False)) / "smolsight.log"


class _Terminal(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (a test may have swapped it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _OneLine(logging.Formatter):
    """`smolsight: message`, the first line only, without the traceback (that is in the file)."""

    def format(self, record: logging.LogRecord) -> str:
        return "smolsight: " + one_line((record.getMessage().splitlines() or [""])[0])


class _Shown(logging.Formatter):
    """The log file's lines (tracebacks too) through `shown`: a model id's escape codes stay out."""

    def format(self, record: logging.LogRecord) -> str:
        return shown(super().format(record))


def setup_logging() -> Path | None:
    """Everything to the log file; to the terminal only real errors of our own, one line each.

    Errors logged with a traceback (an exception on the model thread, say) stay out of the
    terminal: whoever asked for the work reports the failure in its own words. Calling it again
    changes nothing. The log file's path, or None when it can't be written.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if h.get_name() == _HANDLER_NAME]
    if ours:
        file = next((h for h in ours if isinstance(h, logging.FileHandler)), None)
        return Path(file.baseFilename) if file is not None else None
    root.setLevel(logging.INFO)  # libraries' own debug chatter stays out of the file …
    for ours_name in ("app", "smolsight"):
        logging.getLogger(ours_name).setLevel(logging.DEBUG)  # … ours is kept
    console = _Terminal()
    console.set_name(_HANDLER_NAME)
    console.setLevel(logging.ERROR)
    console.setFormatter(_OneLine())
    console.addFilter(lambda record: not record.name.startswith("smolsight.qt") and record.exc_info is None)
    root.addHandler(console)
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        return None
    file.set_name(_HANDLER_NAME)
    file.setFormatter(_Shown("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file)
    return path
