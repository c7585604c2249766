"""`smolsight gui` (and `smolsight` alone, and `smolsight-app`): the desktop app."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.commands.flags import CommandParser, add_engine_flags, options_from, settings_from_args
from app.commands.options import GuiOptions
from app.config import load_settings

OPTIONS = GuiOptions  # what the flags that are not settings fill


def add_arguments(parser: CommandParser) -> None:
    """The app's flags: the engine's, and what to open first."""
    add_engine_flags(parser)
    parser.add_argument(
        "--source",
        help="start with this source: webcam[:INDEX], screen[:N], window, a video or an image file",
    )
    parser.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="a video or image to open (as --source)"
    )


def run(args: argparse.Namespace) -> int:
    """Open the desktop app (or hand the file to the one already open)."""
    from app.ui.app import run_app

    options = options_from(OPTIONS, args)
    saved = load_settings(args.config)  # the file alone: the window never writes this run's flags back
    source = str(options.file.resolve()) if options.file else options.source
    return run_app(settings_from_args(args, saved=saved), saved=saved, source=source, config_path=args.config)
