"""`smolsight desktop-entry install|remove`: SmolSight in the Linux application menu."""

from __future__ import annotations

import argparse
import sys

from app.commands.flags import CommandParser, options_from
from app.commands.options import DesktopEntryOptions
from app.exit_codes import ExitCode
from app.terminal import fail

OPTIONS = DesktopEntryOptions  # what the flags that are not settings fill


def add_arguments(parser: CommandParser) -> None:
    """Install or remove."""
    parser.add_argument("action", choices=("install", "remove"))


def run(args: argparse.Namespace) -> int:
    """Install or remove the application-menu entry (Linux and other freedesktop desktops)."""
    from app import desktop_entry

    options = options_from(OPTIONS, args)
    if sys.platform in ("win32", "darwin"):
        return fail(
            "menu entries are for Linux desktops (docs/install.md: Windows and macOS)", ExitCode.USAGE
        )
    try:
        paths = desktop_entry.install() if options.action == "install" else desktop_entry.remove()
    except OSError as exc:
        return fail(f"could not write the menu entry: {exc.strerror or exc}", ExitCode.INPUT)
    verb = "wrote" if options.action == "install" else "removed"
    print(f"{verb} {len(paths)} file{'s' if len(paths) != 1 else ''}:", file=sys.stderr)
    for path in paths:
        print(path)
    return ExitCode.OK
