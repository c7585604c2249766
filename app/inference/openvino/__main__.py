"""`python -m app.inference.openvino`: prepare a model for the CPU engine in this process.

From the PyTorch weights (`convert.export`) or from the published ONNX files
(`published.export_from_onnx`, with `--onnx VARIANT`), printing progress as JSON lines
(`steps`). The engine runs this in its own process, so the app never imports PyTorch for the
CPU path and the preparation's memory is returned to the system when it ends.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.inference.openvino.convert import export
from app.inference.openvino.published import DamagedFile, export_from_onnx
from app.inference.openvino.steps import say


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: convert, printing progress as JSON lines."""
    parser = argparse.ArgumentParser(
        prog="smolsight prepare", description="Prepare a SmolVLM2 folder for OpenVINO"
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--weights", choices=("int8", "fp32"), default="int8")
    parser.add_argument(
        "--onnx", metavar="VARIANT", help="prepare the published ONNX files of this precision"
    )
    args = parser.parse_args(argv)
    try:
        if args.onnx:
            done = export_from_onnx(args.model, args.out, args.weights, args.onnx)
        else:
            done = export(args.model, args.out, args.weights)
    except DamagedFile as exc:  # the file's own fault: no other engine or precision is the answer
        say(error=str(exc), damaged=True)
        return 1
    except Exception as exc:  # reported to the parent in one line; it decides what to do
        from app.inference.backend import exception_line

        say(error=exception_line(exc))
        return 1
    say(done=str(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
