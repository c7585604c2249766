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
    parser.add_argument(
        "model", nargs="?", help="a name from smolsight models, or a hub id (default: as the settings say)"
    )
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
    from app.inference.catalog import source_for
    from app.inference.factory import choose_backend, fetch_model
    from app.inference.model_files import DamagedDownload, ModelUnavailable, model_kind, offline
    from app.inference.types import LoadProgress
    from app.terminal import ProgressLine

    options = options_from(OPTIONS, args)
    engine = settings_from_args(args).engine
    if options.model:
        engine = engine.model_copy(update={"model": options.model})
    backend = choose_backend(engine.backend, device=engine.device)
    is_folder = engine.model is not None and model_kind(engine.model) == "folder"
    if is_folder:
        print(f"{engine.model} is a folder on this computer: nothing to download.", file=sys.stderr)
    else:
        print(f"Downloading {source_for(engine.model, backend)} …", file=sys.stderr)
    bar = ProgressLine(sys.stderr)

    def report(progress: LoadProgress) -> None:
        bar.update(progress.fraction, progress.message)

    try:
        folder = fetch_model(engine, report)
    except DamagedDownload as exc:
        return fail(str(exc), ExitCode.MODEL)
    except ModelUnavailable as exc:
        if not exc.missing or is_folder:
            advice = ""
        elif offline():
            advice = " Unset HF_HUB_OFFLINE to download it."
        else:
            advice = " Check the internet connection and try again."
        return fail(f"{exc}{advice}", ExitCode.MODEL)
    except BackendError as exc:
        return fail(str(exc), ExitCode.MODEL)
    finally:
        bar.close()
    print(folder)
    return ExitCode.OK
