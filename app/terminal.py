"""Terminal output for the commands: one-line errors, and a progress line with an ETA."""

from __future__ import annotations

import io
import sys
from typing import TextIO

from app.exit_codes import ExitCode
from app.inference.backend import BackendError
from app.inference.model_thread import ModelChanged, ModelEvent
from app.plain_text import one_line, shown


def command_name() -> str:
    """How the user started SmolSight, so a suggested command works from where they are."""
    import shutil
    from pathlib import Path

    argv0 = sys.argv[0] if sys.argv else ""
    if Path(argv0).name == "__main__.py" and Path(argv0).parent.name == "app":
        return f"{Path(sys.executable).name} -m app"
    name = Path(argv0).name
    if not name.startswith("smolsight"):
        return "smolsight"
    on_path = shutil.which(name)
    if on_path and Path(on_path).resolve() == Path(argv0).resolve():
        return name  # `smolsight` works as typed
    return argv0  # e.g. .venv/bin/smolsight: not on PATH, so the path that was used


def failure_text(message: str, *, missing: bool, model: str = "") -> str:
    """A model failure for the terminal: the plain sentence, plus how to fix it from here.

    `model`: the hub id that is missing, when known (the command then names it, by its catalog
    name when it is one of ours).
    """
    if not missing:
        return message
    from app.inference.catalog import public_name

    which = f" {public_name(model)}" if model else ""
    return (
        f"{message} Download it once with `{command_name()} download{which}` while online, or pass "
        "--model with a folder that holds a copy."
    )


def fail_backend(exc: BackendError) -> int:
    """Report a model or backend failure (exit code 3), with how to get a missing model."""
    from app.inference.model_files import ModelUnavailable

    missing = isinstance(exc, ModelUnavailable) and exc.missing
    model = exc.model if isinstance(exc, ModelUnavailable) else ""
    return fail(failure_text(str(exc), missing=missing, model=model), ExitCode.MODEL)


class CleanStream(io.TextIOBase):
    """A terminal stream that writes everything through `shown` (escape sequences, bidi controls … out).

    SmolSight prints what engines, servers, models and files say: an answer, an error a remote
    server sent back, a model's id, a file's name. Any of them can carry an escape sequence
    that clears, recolours or rings the terminal. Installed on stdout and stderr by
    `clean_terminal`, this makes every line on the terminal safe at once. Newlines and tabs
    pass; a carriage return only from `ProgressLine`, which writes to `raw` itself.
    """

    def __init__(self, raw: TextIO) -> None:
        super().__init__()
        self.raw = raw

    def write(self, text: str) -> int:
        """Write `text` cleaned; the length of `text` (as if written whole)."""
        self.raw.write(shown(text))
        return len(text)

    def flush(self) -> None:
        """Flush the stream underneath."""
        self.raw.flush()

    def isatty(self) -> bool:
        """Whether the stream underneath is a terminal."""
        return bool(getattr(self.raw, "isatty", lambda: False)())

    def fileno(self) -> int:
        """The stream underneath's file descriptor."""
        return self.raw.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The stream underneath's encoding."""
        return str(getattr(self.raw, "encoding", "utf-8"))


def clean_terminal() -> None:
    """Route stdout and stderr through `CleanStream` (once)."""
    if not isinstance(sys.stdout, CleanStream) and sys.stdout is not None:
        sys.stdout = CleanStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, CleanStream) and sys.stderr is not None:
        sys.stderr = CleanStream(sys.stderr)  # type: ignore[assignment]


def fail(message: str, code: ExitCode, *, err: TextIO | None = None) -> int:
    """Print `smolsight: message` on stderr (one line, `one_line`) and return `code`."""
    print(f"smolsight: {one_line(message)}", file=err or sys.stderr)
    return int(code)


class ProgressLine:
    """A one-line progress bar with ETA on a terminal; plain lines otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._raw: TextIO = getattr(stream, "raw", stream)  # its redraws need "\r"; the text is cleaned here
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last = ""
        self._printed: tuple[str, int] | None = None  # (message without digits, percent) last printed

    def update(self, fraction: float | None, message: str, eta_s: float | None = None) -> None:
        """Show how far something is (`fraction` None: unknown) and what it is doing."""
        message = one_line(message)
        if fraction is None:
            line = message
        else:
            filled = int(fraction * 24)
            eta = "" if eta_s is None else f"  ETA {int(eta_s // 60)}:{int(eta_s % 60):02d}"
            line = f"[{'#' * filled}{'.' * (24 - filled)}] {fraction:4.0%}{eta}  {message}"
        if self.tty:
            print("\r" + line.ljust(len(self.last)), end="", file=self._raw, flush=True)
        elif self._worth_a_line(fraction, message):
            print(line, file=self.stream, flush=True)
        self.last = line

    def _worth_a_line(self, fraction: float | None, message: str) -> bool:
        """Off a terminal (a log file), a new kind of step or 5 more percent earn a line."""
        kind = "".join(c for c in message if not c.isdigit())
        percent = -1 if fraction is None else int(fraction * 100)
        last = self._printed
        if last is not None and last[0] == kind and (percent < 0 or 0 <= percent - last[1] < 5):
            if percent != 100 or last[1] == 100:
                return False
        self._printed = (kind, percent)
        return True

    def close(self) -> None:
        """End the progress line."""
        if self.tty and self.last:
            print(file=self.stream)
            self.last = ""


class LoadReporter:
    """A model-thread listener that shows model download/conversion/loading progress on a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.line = ProgressLine(stream or sys.stderr)

    def __call__(self, event: ModelEvent) -> None:
        """Show loading progress; end the line on anything else; say why when a fallback was used."""
        state = event.state if isinstance(event, ModelChanged) else None
        if state is not None and state.status == "loading" and state.progress is not None:
            self.line.update(state.progress.fraction, state.progress.message)
            return
        self.line.close()
        if state is not None and state.info is not None and state.info.note:
            print(f"smolsight: {state.info.note}", file=self.line.stream, flush=True)
