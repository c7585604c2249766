"""The `smolsight` command: the desktop app by default, and headless tools as subcommands.

Each command is a module of `app.commands` with `add_arguments(parser)` and `run(args)`
(`app.commands.flags` says how flags are declared); only the chosen command's module is
imported, so `smolsight describe` never loads Qt and `smolsight --help` loads nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Protocol, cast

from app import __version__
from app.commands.flags import CommandParser
from app.exit_codes import ExitCode
from app.terminal import fail

# name → (module, one line for `smolsight --help`), in the order the help lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("gui", "open the desktop app (the default)"),
    "describe": (
        "describe",
        "describe an image, a short video as a clip, the screen, a window or the clipboard",
    ),
    "read": ("read", "read a picture's text as written: a file, the screen, a window or the clipboard"),
    "narrate": ("narrate", "narrate a camera or video in the terminal, line by line"),
    "summarize": ("summarize", "describe a video scene by scene, with a summary and exports"),
    "serve": ("serve", "serve the model over an OpenAI-compatible HTTP API"),
    "eval": ("evaluate", "measure answer quality: VQA accuracy or multi-turn context"),
    "bench": ("bench", "measure latency, throughput and memory (live narration vs describing the naive way)"),
    "models": ("models", "list the models on offer: what each is for, its download, the engine here"),
    "download": ("download", "download a model once, with a progress bar"),
    "check-model": (
        "check_model",
        "list a downloaded model's files (size, SHA-256) and ONNX graphs' operators, for bug reports",
    ),
    "build-test-model": ("build_test_model", "write a random-weight model folder (tests, benchmarks)"),
    "desktop-entry": ("desktop_entry", "add SmolSight to the Linux application menu, or take it out"),
    "config": ("show_config", "show the settings file and its values"),
}
DESCRIPTION = (
    "SmolSight: local, private scene descriptions for blind and low-vision people, using SmolVLM2. "
    "With no command, opens the desktop app."
)


class Command(Protocol):
    """What a command module offers."""

    OPTIONS: type  # the dataclass of `app.commands.options` its non-setting flags fill

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the command's flags."""

    def run(self, args: argparse.Namespace) -> int:
        """Do the command; return the process exit code."""


def command(name: str) -> Command:
    """The module of command `name`."""
    return cast(Command, import_module(f"app.commands.{COMMANDS[name][0]}"))


def command_parser(name: str) -> CommandParser:
    """The argument parser of command `name`."""
    parser = CommandParser(prog=f"smolsight {name}", description=COMMANDS[name][1])
    command(name).add_arguments(parser)
    return parser


def top_parser() -> CommandParser:
    """`smolsight --help` and `--version`, and the error for a command that does not exist."""
    parser = CommandParser(prog="smolsight", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"smolsight {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command and its flags from `argv` (no command, or flags first: the desktop app)."""
    argv = list(argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in {"-h", "--help", "--version"}):
        argv = ["gui", *argv]
    if argv[0] not in COMMANDS:
        top_parser().parse_args(argv)  # help, version, or "invalid choice": exits
    args = command_parser(argv[0]).parse_args(argv[1:])
    args.command = argv[0]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from app.terminal import clean_terminal

    clean_terminal()  # whatever an engine, a model or a file says is shown, never obeyed (app/plain_text.py)
    argv = list(sys.argv[1:] if argv is None else argv)
    from app.helpers import LAUNCHER_FLAG

    if argv[:1] == [LAUNCHER_FLAG]:
        # Not a user's command: one of SmolSight's helper processes, started by SmolSight itself
        # through an app bundle's launcher, which can only run this entry point (app/helpers.py).
        from app.helpers import run_helper

        return run_helper(argv[1:])
    args = parse_args(argv)
    if args.command != "serve":  # a server's operator reads its own log, tracebacks and all
        from app.logs import setup_logging

        setup_logging()  # details to the log file; to the terminal, one line (app/logs.py)
    from app.commands.flags import FlagError
    from app.config import ConfigError

    try:
        return int(command(args.command).run(args))
    except FlagError as exc:  # a flag's value: a usage error, like argparse's own
        return fail(str(exc), ExitCode.USAGE)
    except ConfigError as exc:  # the settings file
        return fail(str(exc), ExitCode.INPUT)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `smolsight check-model | head`: the reader has seen enough
        sys.stdout = sys.__stdout__  # nothing more goes to the closed pipe, not even at exit
        return ExitCode.OK


def entry() -> None:
    """Console-script entry point: `smolsight`."""
    sys.exit(main())


def gui_entry() -> None:
    """GUI-script entry point: `smolsight-app [FLAGS] [FILE]`, the desktop app (no console on Windows)."""
    sys.exit(main(["gui", *sys.argv[1:]]))
