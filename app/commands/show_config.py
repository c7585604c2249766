"""`smolsight config`: where the settings file is, and what it says."""

from __future__ import annotations

import argparse
import json

from app.commands.flags import CommandParser, add_config_flag, options_from
from app.commands.options import ConfigOptions
from app.config import default_config_path, load_settings
from app.exit_codes import ExitCode

OPTIONS = ConfigOptions  # what the flags that are not settings fill


def add_arguments(parser: CommandParser) -> None:
    """Only `--config`."""
    add_config_flag(parser)


def run(args: argparse.Namespace) -> int:
    """Print where the settings live and what they are."""
    options_from(OPTIONS, args)
    path = args.config or default_config_path()
    settings = load_settings(path)
    print(f"# {path}{'' if path.exists() else ' (not written yet: defaults)'}")
    print(json.dumps(settings.model_dump(), indent=2))
    return ExitCode.OK
