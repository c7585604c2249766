"""`smolsight download`: fetch the model into the cache once, with a progress bar."""

from __future__ import annotations

import argparse
import sys

from app.commands.flags import (
    LOCAL_BACKENDS,
    CommandParser,
    add_config_flag,
    add_setting,
    options_from,
    settings_from_args,
)
from app.commands.options import DownloadOptions
from app.exit_codes import ExitCode
from app.terminal import fail

OPTIONS = DownloadOptions  # what the flags that are not settings fill


def add_arguments(parser: CommandParser) -> None:
    """Which model, for which engine."""
    parser.add_argument("model", nargs="?", help="hub id (default: the backend's SmolVLM2)")
    add_setting(
        parser,
        "--backend",
        setting="engine.backend",
        choices=LOCAL_BACKENDS,
        help="(default: as the settings say)",
    )
    add_config_flag(parser)


def run(args: argparse.Namespace) -> int:
    """Fetch the model into the cache with a progress bar; print its folder."""
    from app.inference.backend import BackendError
    from app.inference.factory import choose_backend
    from app.inference.model_files import DamagedDownload, ModelUnavailable, default_model, download_model
    from app.inference.types import LoadProgress
    from app.terminal import ProgressLine

    options = options_from(OPTIONS, args)
    engine = settings_from_args(args).engine
    backend = choose_backend(engine.backend, device=engine.device)
    model = options.model or default_model(backend)
    print(f"Downloading {model} …", file=sys.stderr)
    bar = ProgressLine(sys.stderr)

    def report(progress: LoadProgress) -> None:
        bar.update(progress.fraction, progress.message)

    try:
        if backend == "openvino":  # the CPU engine's files only: one precision of the ONNX export
            from app.inference.openvino.backend import OpenVINOBackend

            folder = OpenVINOBackend(model=model, dtype=engine.dtype).download(report)
        else:
            folder = download_model(model, progress=report)
    except DamagedDownload as exc:
        return fail(str(exc), ExitCode.MODEL)
    except ModelUnavailable as exc:
        return fail(f"{exc} Check the internet connection and try again.", ExitCode.MODEL)
    except BackendError as exc:
        return fail(str(exc), ExitCode.MODEL)
    finally:
        bar.close()
    print(folder)
    return ExitCode.OK
