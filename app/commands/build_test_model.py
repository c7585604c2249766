"""`smolsight build-test-model`: a random-weight SmolVLM2 folder, for tests and benchmarks."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.commands.flags import CommandParser, options_from
from app.commands.options import BuildModelOptions
from app.devtools.model_builder import GEOMETRIES
from app.exit_codes import ExitCode

OPTIONS = BuildModelOptions  # what the flags that are not settings fill


def add_arguments(parser: CommandParser) -> None:
    """Where, how big, which geometry."""
    parser.add_argument("out", type=Path, help="folder to write")
    parser.add_argument("--real-size", action="store_true", help="the real 500M architecture (≈2 GB)")
    parser.add_argument(
        "--geometry",
        choices=tuple(GEOMETRIES),
        help="how it sees pictures: the 500M's 512 px tiles (default), 64 px tiles, or the 2.2B's 384 px",
    )


def run(args: argparse.Namespace) -> int:
    """Write a random-weight SmolVLM2 model folder and print where."""
    from app.devtools.model_builder import build_model

    options = options_from(OPTIONS, args)
    print(build_model(options.out, real_size=options.real_size, geometry=options.geometry))
    return ExitCode.OK
