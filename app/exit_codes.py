"""The exit codes every `smolsight` command uses (documented in docs/user-guide.md)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means."""

    OK = 0
    INPUT = 1  # a file, folder, port or value the user gave can't be used
    USAGE = 2  # bad flags (argparse's own code)
    MODEL = 3  # the model or backend can't be loaded
    NO_DISPLAY = 4  # the desktop app can't open a window here (no display, a system library missing)
    GAPS = 5  # finished, but part of the work is missing (a scene, the summary): stderr says what
    INTERRUPTED = 130  # Ctrl-C
