"""`smolsight build-test-model`: a random-weight folder of one of our models, for tests and benchmarks."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.commands.flags import CommandParser, options_from
from app.commands.options import BuildModelOptions
from app.devtools.model_builder import GEOMETRIES
from app.exit_codes import ExitCode
from app.inference.catalog import NAMES

OPTIONS = BuildModelOptions  # what the flags that are not settings fill


def add_arguments(parser: CommandParser) -> None:
    """Where, which model, how big, which geometry."""
    parser.add_argument("out", type=Path, help="folder to write")
    parser.add_argument(
        "--family",
        choices=NAMES,
        default="smolvlm2-500m",
        help="which model's architecture and files (default: smolvlm2-500m); qwen3.5-0.8b is written "
        "with its OpenVINO export beside the PyTorch weights (optimum-intel, in an environment of its own)",
    )
    parser.add_argument(
        "--real-size", action="store_true", help="the real architecture (random weights; 1-3 GB)"
    )
    parser.add_argument(
        "--geometry",
        choices=tuple(GEOMETRIES),
        help="SmolVLM2: how it sees pictures: the 500M's 512 px tiles (default), 64 px tiles, "
        "or the 2.2B's 384 px",
    )
    parser.add_argument(
        "--onnx",
        action="store_true",
        help="SmolVLM2: also write the published ONNX export (onnx/, 8-bit), which the CPU engine reads",
    )


def run(args: argparse.Namespace) -> int:
    """Write a random-weight model folder and print where."""
    options = options_from(OPTIONS, args)
    if options.family == "qwen3.5-0.8b":
        from app.devtools.qwen_builder import build_qwen

        print(build_qwen(options.out, real_size=options.real_size))
        return ExitCode.OK
    from app.devtools.model_builder import build_model

    folder = build_model(
        options.out, real_size=options.real_size, geometry=options.geometry, family=options.family
    )
    if options.onnx:
        from app.devtools.onnx_layout import write_onnx_layout

        write_onnx_layout(folder, ("int8",))
    print(folder)
    return ExitCode.OK
